/**
 * The shared-sessions workload, the same for its four implementations: what a session is, what a
 * request does to it, and the seeded request stream. Any thread (the driver on the main thread,
 * the implementations' workers and actor thread).
 *
 * A multi-threaded server: N workers share M sessions. A request reads one session and appends an
 * event made from it to another; one request in `RENEW_EVERY` instead expires a session and
 * creates a new one in its place. A session keeps its last `EVENTS_KEPT` events, so its size stays
 * about the same however long the run. Rejected: a read that does not feed the append; then a
 * remote design could send both at once, and the read's cost would not show.
 */

/** Sessions shared by the workers. */
export const SESSIONS = 1000;
/** Events a session keeps (the oldest goes first). */
export const EVENTS_KEPT = 16;
/** One request in this many renews a session (expires it and creates a new one in its slot). */
export const RENEW_EVERY = 32;

/** A session: plain, structured-cloneable data. `version` counts the changes made to it. */
export interface Session {
  readonly slot: number;
  readonly user: string;
  version: number;
  hits: number;
  events: string[];
}

/**
 * One request. The stream has only `append` (reading `read` first) and `renew`; the breakdown of a
 * request (driver.ts, `parts`) also sends `append` with `read: null` (no read) and `idle` (nothing:
 * the dispatch alone).
 */
export type Request =
  | { readonly t: 'append'; readonly read: number | null; readonly append: number; readonly seq: number }
  | { readonly t: 'renew'; readonly slot: number; readonly seq: number }
  | { readonly t: 'idle' };

/** A new session for `slot`; `label` tells it from the sessions that held the slot before. */
export function newSession(slot: number, label: number): Session {
  const user = `user-${slot}-${label}`;
  return {
    slot,
    user,
    version: 0,
    hits: 0,
    events: Array.from({ length: EVENTS_KEPT / 2 }, (_, i) => `${user} signed in, step ${i}`),
  };
}

/** The event a request appends, made from the session it read (`null`: it read none). */
export function eventFrom(read: Session | null, seq: number): string {
  return read === null ? `request ${seq}` : `${read.user} saw ${read.hits} hits (request ${seq})`;
}

/** Appends `event` to `s` in place (keeping the last `EVENTS_KEPT`); returns `s`. */
export function appendEvent(s: Session, event: string): Session {
  s.events.push(event);
  if (s.events.length > EVENTS_KEPT) s.events.shift();
  s.hits++;
  s.version++;
  return s;
}

/** mulberry32: a small seeded generator, so every implementation sees the same requests. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The request stream of one lane (one request in flight at a time), from `seed`. */
export function requests(seed: number): () => Request {
  const random = seeded(seed);
  let seq = 0;
  return () => {
    seq++;
    const slot = Math.floor(random() * SESSIONS);
    if (Math.floor(random() * RENEW_EVERY) === 0) return { t: 'renew', slot, seq };
    const other = (slot + 1 + Math.floor(random() * (SESSIONS - 1))) % SESSIONS;
    return { t: 'append', read: slot, append: other, seq };
  };
}
