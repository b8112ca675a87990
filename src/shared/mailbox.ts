/**
 * The synchronous mailbox's wait and wake: one word per store region (`R_MAILBOX`).
 *
 * Any thread waits; only the coordinator wakes. Protocol: the store stores 0, posts its request
 * on its control port, and waits until the word is 1; the coordinator posts the reply on the
 * store's reply port and then stores 1 and notifies. The reply is in the port's queue before the
 * word changes, so the store's `receiveMessageOnPort` after the wait always finds it.
 *
 * The waiter spins briefly first (a reply often comes within microseconds when the coordinator
 * is idle, and waking a sleeping thread costs ~25 µs here), then sleeps in slices so that it can
 * notice a closed heap or a dead coordinator (I8): no wait is unbounded.
 */
import { H_STATE, HEAP_CLOSED, type Layout, regionBase, R_MAILBOX } from './layout';

/** Iterations of the spin before sleeping (a few microseconds on this class of machine). */
const SPIN_ITERATIONS = 2000;
/** Longest single sleep; after each the waiter re-checks the heap state. */
const SLEEP_SLICE_MS = 50;

/** Arms the mailbox before a request is posted. */
export function mailboxArm(i32: Int32Array, word: number): void {
  Atomics.store(i32, word, 0);
}

/** Marks the reply posted and wakes the waiter (coordinator only). */
export function mailboxSignal(i32: Int32Array, word: number): void {
  Atomics.store(i32, word, 1);
  Atomics.notify(i32, word);
}

/** Waits for the reply. Returns false if the heap closed first. */
export function mailboxWait(i32: Int32Array, word: number): boolean {
  for (let i = 0; i < SPIN_ITERATIONS; i++) {
    if (Atomics.load(i32, word) !== 0) return true;
  }
  for (;;) {
    if (Atomics.wait(i32, word, 0, SLEEP_SLICE_MS) !== 'timed-out') {
      if (Atomics.load(i32, word) !== 0) return true;
    }
    if (Atomics.load(i32, H_STATE) === HEAP_CLOSED) return Atomics.load(i32, word) !== 0;
  }
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
