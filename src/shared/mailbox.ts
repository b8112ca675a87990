/**
 * One-word signals between two threads, and the heap's synchronous mailbox built on them.
 *
 * Any thread waits; one peer wakes. Protocol: the waiter arms the word (stores 0), posts its
 * request on a port, and waits until the word is 1; the peer posts the reply on the waiter's
 * reply port and then stores 1 and notifies. The reply is in the port's queue before the word
 * changes, so the waiter's `receiveMessageOnPort` after the wait always finds it.
 *
 * The waiter spins briefly first (a reply often comes within microseconds when the peer is idle,
 * and waking a sleeping thread costs ~25 µs here), then sleeps in slices so that it can notice
 * that its peer is gone (a closed heap, a dead coordinator, a dead compiler thread) and give up
 * (I8): no wait is unbounded.
 *
 * Two users: each store region's `R_MAILBOX` word (the coordinator wakes it; "gone" is the heap's
 * `H_STATE` turning closed), and the WAT compiler's two-word link in wasm/wat.ts (`SIGNAL_WORDS`:
 * the signal, and a word its thread sets when it exits).
 */
import { H_STATE, HEAP_CLOSED, type Layout, regionBase, R_MAILBOX } from './layout';

/** Iterations of the spin before sleeping (a few microseconds on this class of machine). */
const SPIN_ITERATIONS = 2000;
/** Longest single sleep; after each the waiter re-checks whether its peer is gone. */
const SLEEP_SLICE_MS = 50;

/** How a wait ended. */
export type SignalWait = 'signalled' | 'gone' | 'timed-out';

/** Arms `word` before a request is posted. */
export function signalArm(i32: Int32Array, word: number): void {
  Atomics.store(i32, word, 0);
}

/** Marks the reply posted and wakes the waiter (the peer only, after posting the reply). */
export function signalRaise(i32: Int32Array, word: number): void {
  Atomics.store(i32, word, 1);
  Atomics.notify(i32, word);
}

/**
 * Waits until `word` is raised, `gone()` says the peer is gone (checked after every slice, and
 * once more after it says so, since the reply may have come just before), or `timeoutMs` passed.
 */
export function signalWait(i32: Int32Array, word: number, gone: () => boolean, timeoutMs = Infinity): SignalWait {
  for (let i = 0; i < SPIN_ITERATIONS; i++) {
    if (Atomics.load(i32, word) !== 0) return 'signalled';
  }
  const deadline = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs;
  for (;;) {
    const slice = deadline === Infinity ? SLEEP_SLICE_MS : Math.max(0, Math.min(SLEEP_SLICE_MS, deadline - Date.now()));
    if (Atomics.wait(i32, word, 0, slice) !== 'timed-out' && Atomics.load(i32, word) !== 0) return 'signalled';
    if (gone()) return Atomics.load(i32, word) !== 0 ? 'signalled' : 'gone';
    if (Date.now() >= deadline) return Atomics.load(i32, word) !== 0 ? 'signalled' : 'timed-out';
  }
}

/** Words of a standalone signal link (the WAT compiler's): the signal, then the peer-exited flag. */
export const SIGNAL_WORDS = 2;
/** Index of the peer-exited flag in a standalone signal link. */
const PEER_EXITED = 1;

/** A new standalone signal link (two words in a fresh `SharedArrayBuffer`). */
export function createSignalLink(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(SIGNAL_WORDS * 4));
}

/** The peer of a standalone link says it is exiting: a waiter gives up at its next slice. */
export function signalPeerExited(link: Int32Array): void {
  Atomics.store(link, PEER_EXITED, 1);
  Atomics.notify(link, 0);
}

/** Waits on a standalone link's signal until raised, its peer exited, or `timeoutMs`. */
export function linkWait(link: Int32Array, timeoutMs: number): SignalWait {
  return signalWait(link, 0, () => Atomics.load(link, PEER_EXITED) !== 0, timeoutMs);
}

/** Arms the mailbox before a request is posted. */
export function mailboxArm(i32: Int32Array, word: number): void {
  signalArm(i32, word);
}

/** Marks the reply posted and wakes the waiter (coordinator only). */
export function mailboxSignal(i32: Int32Array, word: number): void {
  signalRaise(i32, word);
}

/** Waits for the reply. Returns false if the heap closed first. */
export function mailboxWait(i32: Int32Array, word: number): boolean {
  return signalWait(i32, word, () => Atomics.load(i32, H_STATE) === HEAP_CLOSED) === 'signalled';
}

/**
 * Marks the heap closed and wakes every store blocked in its mailbox, so each sees the closed
 * heap and returns (I8). Called by the coordinator at shutdown or when it is dying, and by the
 * creating thread when the coordinator died: a blocked thread cannot do it for itself.
 */
export function closeHeapAndWakeAll(i32: Int32Array, layout: Layout): void {
  Atomics.store(i32, H_STATE, HEAP_CLOSED);
  for (let id = 1; id <= layout.maxStores; id++) Atomics.notify(i32, regionBase(layout, id) + R_MAILBOX);
}
