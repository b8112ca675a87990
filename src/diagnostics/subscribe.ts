/**
 * `subscribe(name, onMessage)`: sharedref's `node:diagnostics_channel` channels, typed.
 *
 * Any thread, though events are published only on the thread that created the heap
 * (channels.ts). Node's own `subscribe` hands a listener `unknown`, so a subscriber cast each
 * message (`message as GcMessage`). This one is Node's, with three differences: the listener's
 * message has its channel's type (`DiagnosticsMessages[name]`); a name that is not one of
 * sharedref's channels is a `TypeError` naming them, not a silent subscription to nothing; and the
 * subscription is noticed at once, so the heaps of this thread send the channel's events from
 * now on rather than from their next look for subscribers (up to `LISTEN_POLL_MS` later).
 * Subscribing with Node's `subscribe` still works, untyped, as before.
 *
 * Rejected: typed channel objects (`channels.gc.subscribe(fn)`). Node's `Channel` has more to
 * mirror (`publish`, `bindStore`, `runStores`) than a subscriber needs, and a second object per
 * name beside Node's would invite publishing on it; `subscribe(name, fn)` is already how Node
 * users subscribe.
 */
import { subscribe as subscribeChannel, unsubscribe as unsubscribeChannel } from 'node:diagnostics_channel';
import { describe } from '../options';
import { noticeSubscribers } from './channels';
import { DIAGNOSTICS_CHANNELS, type DiagnosticsChannelName, type DiagnosticsMessages } from './messages';

/** A listener on channel `N` (or on each of a union of channels): the message, typed, and the channel's name. */
export type DiagnosticsListener<N extends DiagnosticsChannelName = DiagnosticsChannelName> = (
  message: DiagnosticsMessages[N],
  name: N,
) => void;

const NAMES: ReadonlySet<string> = new Set(Object.values(DIAGNOSTICS_CHANNELS));

/**
 * Subscribes `onMessage` to sharedref's diagnostics channel `name` (one of `DIAGNOSTICS_CHANNELS`),
 * with each message typed by its channel: `subscribe(DIAGNOSTICS_CHANNELS.gc, (m) => m.trigger)`.
 * Events are published on the thread that created the heap, so subscribe there. The heaps of this
 * thread notice the subscription at once (and the unsubscription). Returns a function that
 * unsubscribes; calling it again does nothing.
 */
export function subscribe<N extends DiagnosticsChannelName>(name: N, onMessage: DiagnosticsListener<N>): () => void {
  if (typeof name !== 'string' || !NAMES.has(name)) {
    throw new TypeError(
      `subscribe: name must be one of sharedref's channels (${[...NAMES].join(', ')}), received ${describe(name)}`,
    );
  }
  if (typeof onMessage !== 'function') {
    throw new TypeError(`subscribe: onMessage must be a function, received ${describe(onMessage)}`);
  }
  // Node calls it with (message, name) as published: a message of this channel, by construction.
  const listener = onMessage as (message: unknown, name: string | symbol) => void;
  subscribeChannel(name, listener);
  noticeSubscribers();
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    unsubscribeChannel(name, listener);
    noticeSubscribers();
  };
}
