/**
 * The header's shared words, read and written by name (contracts beside each constant in
 * layout.ts). Any thread reads; the writers are as documented on each function.
 */
import {
  H_CAPACITY,
  H_COLLECTIONS,
  H_CREATED,
  H_DISPOSED,
  H_FREE_LIST,
  H_LIVE,
  H_RETIRED,
  H_STATE,
  H_STORES,
  HEAP_CLOSED,
} from './layout';

/** The raw counters `heap.stats()` is made from. */
export interface HeaderCounters {
  readonly capacity: number;
  readonly live: number;
  readonly retired: number;
  readonly freeList: number;
  readonly created: number;
  readonly disposed: number;
  readonly collections: number;
  readonly stores: number;
}

/**
 * True once the heap is closed (any thread, before each operation). A plain read, not
 * `Atomics.load` (a builtin call that costs as much as a count change): the answer is advisory
 * either way, since the heap can close right after any check, and nothing here loops on it.
 * Waits that must see the close (mailbox.ts) load the word atomically.
 */
export function isHeapClosed(i32: Int32Array): boolean {
  return i32[H_STATE] === HEAP_CLOSED;
}

/** Reads every counter (each load is atomic; the set is a snapshot only approximately). */
export function readCounters(i32: Int32Array): HeaderCounters {
  return {
    capacity: i32[H_CAPACITY]!,
    live: Atomics.load(i32, H_LIVE),
    retired: Atomics.load(i32, H_RETIRED),
    freeList: Atomics.load(i32, H_FREE_LIST),
    created: Atomics.load(i32, H_CREATED),
    disposed: Atomics.load(i32, H_DISPOSED),
    collections: Atomics.load(i32, H_COLLECTIONS),
    stores: Atomics.load(i32, H_STORES),
  };
}

/** Coordinator only: one more collection ran. */
export function countCollection(i32: Int32Array): void {
  Atomics.add(i32, H_COLLECTIONS, 1);
}

/** Coordinator only: a store's region was cleaned and freed. */
export function countStoreGone(i32: Int32Array): void {
  Atomics.sub(i32, H_STORES, 1);
}

/** Coordinator only: `n` values still holding slots were disposed at close. */
export function countDisposedAtClose(i32: Int32Array, n: number): void {
  Atomics.add(i32, H_DISPOSED, n);
  Atomics.sub(i32, H_LIVE, n);
}

/** Objects holding a slot now. */
export function liveCount(i32: Int32Array): number {
  return Atomics.load(i32, H_LIVE);
}
