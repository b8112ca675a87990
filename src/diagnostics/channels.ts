/**
 * Publishing the coordinator's events on `node:diagnostics_channel`, on the heap's creating thread.
 *
 * Creating thread. Collections, stores leaving, lease timeouts and abandoned user code happen on
 * the coordinator thread, but `diagnostics_channel` is per thread, and users subscribe on their
 * own (usually the main thread, which created the heap). So the coordinator posts each event on
 * the heap port, and `publishEvent` adds the heap's id and publishes it here. The coordinator
 * posts an event only if the channel's bit is set in the heap's `H_LISTEN` word (layout.ts), which
 * this thread keeps equal to the set of sharedref channels it has subscribers on: nothing is built
 * or sent for a channel nobody listens to, and the hot paths (clone, drop, new, reads) never look.
 *
 * Node has no hook for "someone subscribed", so this thread compares `channel.hasSubscribers`
 * with the word: when a heap is created, at each `heap` method called on this thread, when an event
 * arrives (which ends forwarding once the last subscriber left), and otherwise every
 * `LISTEN_POLL_MS` on an unreferenced timer, one per thread, that runs while a heap created here
 * is open. A subscription made before `Heap.create()` therefore sees every event; one made later
 * sees events from the next of those moments on (at most `LISTEN_POLL_MS` later), or at once when
 * made with sharedref's own `subscribe` (subscribe.ts), which calls `noticeSubscribers` itself.
 *
 * Rejected: posting every event and checking `hasSubscribers` on arrival. It is exact from the
 * first moment, but it costs a message and a wake-up of the creating thread for every collection
 * whether anyone listens or not, and background collection runs up to thousands of slices a
 * second. Also rejected: redefining Node's channel objects to see `subscribe` calls (they are
 * Node's internals), and shared counters alone (they give `stats()`, not events).
 */
import { type Channel, channel } from 'node:diagnostics_channel';
import { DIAGNOSTICS_CHANNELS, type DiagnosticsChannelName, LISTEN_BITS } from './messages';

/** How often a thread with an open heap looks for new subscribers, in milliseconds. */
export const LISTEN_POLL_MS = 100;

interface Entry {
  readonly bit: number;
  /** Held here, so Node keeps this object as the channel of its name (its registry holds weak references). */
  readonly channel: Channel;
}

const entries = new Map<string, Entry>(
  Object.values(DIAGNOSTICS_CHANNELS).map((name) => [name, { bit: LISTEN_BITS[name], channel: channel(name) }]),
);

/** The `LISTEN_*` bits of the sharedref channels this thread has subscribers on. */
function currentMask(): number {
  let mask = 0;
  for (const e of entries.values()) if (e.channel.hasSubscribers) mask |= e.bit;
  return mask;
}

/** Writers of the `H_LISTEN` word of each heap open on this thread. */
const watchers = new Set<(mask: number) => void>();
let lastMask = 0;
let timer: NodeJS.Timeout | null = null;

/** Gives every open heap of this thread the current set of channels with subscribers, if it changed. */
export function noticeSubscribers(): void {
  const mask = currentMask();
  if (mask === lastMask) return;
  lastMask = mask;
  for (const set of watchers) set(mask);
}

/**
 * Keeps a heap's `H_LISTEN` word current through `set` (called now, and whenever the set of
 * channels with subscribers changes) until the returned function is called.
 */
export function watchSubscribers(set: (mask: number) => void): () => void {
  watchers.add(set);
  set(currentMask());
  noticeSubscribers();
  if (timer === null) {
    timer = setInterval(noticeSubscribers, LISTEN_POLL_MS);
    timer.unref();
  }
  return () => {
    watchers.delete(set);
    if (watchers.size === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };
}

/** Publishes an event of heap `heapId` that the coordinator posted, if `name` still has subscribers. */
export function publishEvent(heapId: number, name: DiagnosticsChannelName, body: object): void {
  const e = entries.get(name);
  if (e === undefined) return;
  if (e.channel.hasSubscribers) e.channel.publish({ heapId, ...body });
  noticeSubscribers(); // a channel whose last subscriber left is no longer sent
}
