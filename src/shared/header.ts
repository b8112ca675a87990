/**
 * The header's shared words, read and written by name (contracts beside each constant in
 * layout.ts). Any thread reads; the writers are as documented on each function.
 */
import {
  H_CAPACITY,
  H_DEBUG,
  H_LAYOUT_VERSION,
  H_MAGIC,
  H_MAX_STORES,
  H_ROOTS_PER_STORE,
  H_TRANSFERS,
  LAYOUT_VERSION,
  MAGIC,
  H_ABANDONED,
  H_COLLECTIONS,
  H_EVENTS_POSTED,
  H_LEASE_TIMEOUTS,
  H_LISTEN,
  H_CREATED,
  H_DISPOSED,
  H_FREE_LIST,
  H_WRAPS,
  H_GEN_BITS,
  H_STATE,
  H_STORES,
  HEAP_CLOSED,
  type Layout,
  R_CREATED,
  R_DISPOSED,
  R_WRAPS,
  regionBase,
} from './layout';
import { initPauseHistogram } from './pause-histogram';

/**
 * The creator only, before any other thread can see the buffer: writes the words that describe
 * the heap (magic, layout version, sizes, debug flag) and an empty pause histogram. Plain writes:
 * the buffer reaches other threads by message, which orders them.
 */
export function writeHeader(i32: Int32Array, layout: Layout, debug: boolean): void {
  i32[H_MAGIC] = MAGIC;
  i32[H_LAYOUT_VERSION] = LAYOUT_VERSION;
  i32[H_CAPACITY] = layout.capacity;
  i32[H_MAX_STORES] = layout.maxStores;
  i32[H_ROOTS_PER_STORE] = layout.rootsPerStore;
  i32[H_TRANSFERS] = layout.transfers;
  i32[H_GEN_BITS] = layout.generationBits;
  i32[H_DEBUG] = debug ? 1 : 0;
  initPauseHistogram(i32, layout);
}

/** The raw counters `heap.stats()` is made from. */
export interface HeaderCounters {
  readonly capacity: number;
  readonly live: number;
  readonly wraps: number;
  readonly freeList: number;
  readonly created: number;
  readonly disposed: number;
  readonly collections: number;
  readonly stores: number;
  readonly abandoned: number;
  readonly leaseTimeouts: number;
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

/**
 * Values ever created: those of stores that are gone (`H_CREATED`) plus each region's own
 * `R_CREATED`. Read disposed first and created after (`liveCount`), so that live objects are
 * never under-counted by a value created and disposed between the two reads.
 */
export function createdCount(i32: Int32Array, layout: Layout): number {
  let n = Atomics.load(i32, H_CREATED);
  for (let id = 1; id <= layout.maxStores; id++) n += Atomics.load(i32, regionBase(layout, id) + R_CREATED);
  return n;
}

/**
 * Values ever disposed: by the coordinator (`H_DISPOSED`, which also holds what gone stores
 * disposed themselves) plus each region's own `R_DISPOSED` (values a store recycled before
 * posting them, see the kernel's `drop_own`).
 */
export function disposedCount(i32: Int32Array, layout: Layout): number {
  let n = Atomics.load(i32, H_DISPOSED);
  for (let id = 1; id <= layout.maxStores; id++) n += Atomics.load(i32, regionBase(layout, id) + R_DISPOSED);
  return n;
}

/**
 * Generation wraps (see handle.ts): by the coordinator and stores that are gone (`H_WRAPS`), plus
 * each region's own `R_WRAPS` (slots its store recycled past their largest generation).
 */
export function wrapCount(i32: Int32Array, layout: Layout): number {
  let n = Atomics.load(i32, H_WRAPS);
  for (let id = 1; id <= layout.maxStores; id++) n += Atomics.load(i32, regionBase(layout, id) + R_WRAPS);
  return n;
}

/** Reads every counter (each load is atomic; the set is a snapshot only approximately). */
export function readCounters(i32: Int32Array, layout: Layout): HeaderCounters {
  const disposed = disposedCount(i32, layout);
  const created = createdCount(i32, layout);
  return {
    capacity: i32[H_CAPACITY]!,
    live: Math.max(0, created - disposed),
    wraps: wrapCount(i32, layout),
    freeList: Atomics.load(i32, H_FREE_LIST),
    created,
    disposed,
    collections: Atomics.load(i32, H_COLLECTIONS),
    stores: Atomics.load(i32, H_STORES),
    abandoned: Atomics.load(i32, H_ABANDONED),
    leaseTimeouts: Atomics.load(i32, H_LEASE_TIMEOUTS),
  };
}

/** Coordinator only: user code overstayed `userCodeTimeoutMs` and was abandoned. */
export function countAbandoned(i32: Int32Array): void {
  Atomics.add(i32, H_ABANDONED, 1);
}

/** Coordinator only: a `dataMut` lease ended at `leaseTimeoutMs`. */
export function countLeaseTimeout(i32: Int32Array): void {
  Atomics.add(i32, H_LEASE_TIMEOUTS, 1);
}

/** Coordinator only: one more collection ran; returns how many have run, this one included. */
export function countCollection(i32: Int32Array): number {
  return Atomics.add(i32, H_COLLECTIONS, 1) + 1;
}

/**
 * The creating thread only: the `LISTEN_*` bits of the diagnostics channels it has subscribers
 * for (see `H_LISTEN` in layout.ts).
 */
export function setListenMask(i32: Int32Array, mask: number): void {
  Atomics.store(i32, H_LISTEN, mask);
}

/** The coordinator, before it builds an event: the `LISTEN_*` bits the creating thread last stored. */
export function listenMask(i32: Int32Array): number {
  return Atomics.load(i32, H_LISTEN);
}

/** Coordinator only: one diagnostics event is about to be posted to the creating thread. */
export function countEventPosted(i32: Int32Array): void {
  Atomics.add(i32, H_EVENTS_POSTED, 1);
}

/** Diagnostics events the coordinator has posted to the creating thread (tests). */
export function eventsPosted(i32: Int32Array): number {
  return Atomics.load(i32, H_EVENTS_POSTED);
}

/** Stores attached now (any thread). */
export function attachedStores(i32: Int32Array): number {
  return Atomics.load(i32, H_STORES);
}

/** Coordinator only: a store's region was cleaned and freed. */
export function countStoreGone(i32: Int32Array): void {
  Atomics.sub(i32, H_STORES, 1);
}

/** Coordinator only: `n` values were disposed (by a collection, or at close). */
export function countDisposed(i32: Int32Array, n: number): void {
  Atomics.add(i32, H_DISPOSED, n);
}

/**
 * Objects holding a slot now: created − disposed. Disposed is read first, so a value created
 * and disposed between the reads is counted live for a moment rather than not at all (the debug
 * invariant check relies on never under-counting).
 */
export function liveCount(i32: Int32Array, layout: Layout): number {
  const disposed = disposedCount(i32, layout);
  return createdCount(i32, layout) - disposed;
}
