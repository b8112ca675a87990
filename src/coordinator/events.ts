/**
 * The coordinator's diagnostics events (collections, stores attaching and leaving, lease timeouts,
 * abandoned user code), posted to the heap's creating thread, which publishes them on
 * `node:diagnostics_channel` (diagnostics/channels.ts).
 *
 * Coordinator thread only. Used as `diagnostics_channel` itself is, `if (hasSubscribers) publish`:
 * `wants(name)` is one atomic load of the `H_LISTEN` word, and a message is built and posted only
 * when the creating thread has a subscriber on that channel. None of these events is on a hot path
 * (clone, drop, new and reads never reach the coordinator's event code).
 *
 * Rejected: publishing on the coordinator thread's own channels. Only code running on the
 * coordinator (the host module) could subscribe there, not the program that made the heap.
 */
import {
  type DiagnosticsChannelName,
  type DiagnosticsEvent,
  type EventBody,
  LISTEN_BITS,
} from '../diagnostics/messages';
import { countEventPosted, listenMask } from '../shared/header';

/** Posts events to the creating thread for the channels it listens to. */
export class Events {
  readonly #i32: Int32Array;
  readonly #post: (event: DiagnosticsEvent) => void;

  /** `post` sends one event on the heap port. */
  constructor(i32: Int32Array, post: (event: DiagnosticsEvent) => void) {
    this.#i32 = i32;
    this.#post = post;
  }

  /** True when the creating thread has a subscriber on `name`: build its message only then. */
  wants(name: DiagnosticsChannelName): boolean {
    return (listenMask(this.#i32) & LISTEN_BITS[name]) !== 0;
  }

  /** Posts an event on `name` (after `wants(name)`); the creating thread adds the heap's id. */
  send<N extends DiagnosticsChannelName>(name: N, body: EventBody<N>): void {
    countEventPosted(this.#i32);
    this.#post({ t: 'event', name, body } as DiagnosticsEvent);
  }
}
