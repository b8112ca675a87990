/**
 * The sessions as one thread's `Map`, for the implementations in which one thread owns them (the
 * comlink proxy's main thread, the postMessage actor): read, append, renew, each done whole by
 * the owner, so concurrent appends to one session are never lost. Whichever thread owns the map.
 */
import { type Session, SESSIONS, appendEvent, newSession } from './workload';

/** The operations the owning thread answers. */
export interface SessionMap {
  /** The session in `slot` (the caller gets a copy, by message). */
  read(slot: number): Session;
  /** Appends `event` to the session in `slot`; answers its hits. */
  append(slot: number, event: string): number;
  /** Puts `session` in `slot`; the old session is dropped. */
  renew(slot: number, session: Session): void;
}

/** A map of `SESSIONS` fresh sessions. */
export function sessionMap(): SessionMap {
  const sessions = new Map<number, Session>();
  for (let slot = 0; slot < SESSIONS; slot++) sessions.set(slot, newSession(slot, 0));
  return {
    read: (slot) => sessions.get(slot)!,
    append: (slot, event) => appendEvent(sessions.get(slot)!, event).hits,
    renew: (slot, session) => void sessions.set(slot, session),
  };
}
