/**
 * Abandoned task tags: the handshake that stops a failed task's results from leaking.
 *
 * One shared `Int32Array` of `ABANDONED_SLOTS` per pool. The caller, when a task fails, stores
 * the task's tag (then releases the task's in-flight results by tag); a worker, after publishing
 * its results, loads the tag's slot and releases its own results if the tag is there. Both are
 * sequentially consistent, so at least one side sees the other (Dekker's argument), and the
 * transfer entries' compare-exchange stops a double release.
 */

/** Size of the array, a power of two. */
export const ABANDONED_SLOTS = 4096;
const MASK = ABANDONED_SLOTS - 1;

/** A new array for one pool. */
export function createAbandonedTags(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(ABANDONED_SLOTS * 4));
}

/** Caller side: the task with `tag` failed; its results are to be released. */
export function markAbandoned(tags: Int32Array, tag: number): void {
  Atomics.store(tags, tag & MASK, tag);
}

/** Worker side: true if the caller gave up on the task with `tag`. */
export function isAbandoned(tags: Int32Array, tag: number): boolean {
  return Atomics.load(tags, tag & MASK) === tag;
}
