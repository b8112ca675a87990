/**
 * Store root regions: where each store records the counts it holds, so that the coordinator can
 * give them all back when the store's thread dies (I4).
 *
 * A region is `REGION_HEADER_WORDS` words of header and `rootsPerStore` entries. An entry holds
 * the raw handle one root's count belongs to, or 0. The owning store is the only writer while it
 * lives, with plain writes: the coordinator reads the entries only after the store said goodbye
 * (a message, which orders memory) or its thread exited (thread exit orders memory too), so no
 * entry write needs `Atomics`. Only the region state word is contended: attaching threads claim a
 * region with a compare-exchange, and the coordinator frees it after cleaning.
 *
 * The store side keeps its free entries in a local stack, so recording a root is a pop and a
 * plain store. Rejected: one entry per (store, object) with a per-store count, which saves space
 * for many roots of one object but needs a hash lookup on every clone.
 */
import {
  H_CREATED,
  H_DISPOSED,
  H_STORES,
  H_WRAPS,
  R_CREATED,
  R_DISPOSED,
  R_WRAPS,
  R_HIGH_WATER,
  R_MAILBOX,
  R_STATE,
  REGION_ATTACHED,
  REGION_FREE,
  REGION_LINKED,
  REGION_HEADER_WORDS,
  type Layout,
  type WordOffset,
  regionBase,
} from './layout';

/** Result of `alloc` when the region is full. */
export const REGION_FULL = -1;

/**
 * Claims a free region for a new store link; returns its id (1-based), or 0 if all are taken. The
 * region is LINKED until the store attaches (`attachRegion`).
 */
export function claimRegion(i32: Int32Array, layout: Layout): number {
  for (let id = 1; id <= layout.maxStores; id++) {
    const at = regionBase(layout, id) + R_STATE;
    if (Atomics.compareExchange(i32, at, REGION_FREE, REGION_LINKED) === REGION_FREE) {
      const base = regionBase(layout, id);
      i32.fill(0, base + R_MAILBOX, base + layout.regionWords);
      Atomics.add(i32, H_STORES, 1);
      return id;
    }
  }
  return 0;
}

/** A store attaches the region its link claimed: true once; false if the link was attached already. */
export function attachRegion(i32: Int32Array, layout: Layout, storeId: number): boolean {
  const at = regionBase(layout, storeId) + R_STATE;
  return Atomics.compareExchange(i32, at, REGION_LINKED, REGION_ATTACHED) === REGION_LINKED;
}

/**
 * The store-side allocator of its own region's entries. One thread only. It hands out entry
 * indices; the count changes and the entry writes themselves happen together in `SlotTable`
 * (see the kill-safety note there), at the word `wordOf(entry)`.
 */
export class RootRegion {
  readonly storeId: number;
  readonly #i32: Int32Array;
  /** Word offset of entry 0. */
  readonly #entries: number;
  readonly #base: number;
  readonly #limit: number;
  #free: Int32Array;
  #freeTop = 0;
  #highWater = 0;

  constructor(i32: Int32Array, layout: Layout, storeId: number) {
    this.storeId = storeId;
    this.#i32 = i32;
    this.#base = regionBase(layout, storeId);
    this.#entries = this.#base + REGION_HEADER_WORDS;
    this.#limit = layout.rootsPerStore;
    this.#free = new Int32Array(Math.min(layout.rootsPerStore, 1024));
  }

  /** Entries in use now: every entry ever handed out, less the free ones (no counter to keep on the hot path). */
  get used(): number {
    return this.#highWater - this.#freeTop;
  }

  /** A free entry index, or REGION_FULL. The entry stays empty until a `SlotTable` call fills it. */
  alloc(): number {
    // On the path of every root: the reuse of a freed entry is kept small enough to inline (see
    // roots.ts `unrooted`), the first use of a new entry is a call.
    if (this.#freeTop > 0) return this.#free[--this.#freeTop]!;
    return this.#allocNew();
  }

  #allocNew(): number {
    if (this.#highWater >= this.#limit) return REGION_FULL;
    const e = this.#highWater++;
    // Published before the entry can be filled, so a drain after death scans far enough.
    this.#i32[this.#base + R_HIGH_WATER] = this.#highWater;
    return e;
  }

  /** Returns entry `e` (already cleared by `SlotTable.drop`) to the free stack. */
  free(e: number): void {
    if (this.#freeTop === this.#free.length) this.#grow();
    this.#free[this.#freeTop++] = e;
  }

  #grow(): void {
    const bigger = new Int32Array(Math.min(this.#free.length * 2, this.#limit));
    bigger.set(this.#free);
    this.#free = bigger;
  }

  /** Word offset of entry `e`. */
  wordOf(e: number): WordOffset {
    return (this.#entries + e) as WordOffset;
  }

  /** Word offset of this store's `R_CREATED` counter (written by the kernel's `publish`). */
  get createdWord(): WordOffset {
    return (this.#base + R_CREATED) as WordOffset;
  }

  /** Word offset of this store's `R_DISPOSED` counter (written by the kernel's `drop_own`). */
  get disposedWord(): WordOffset {
    return (this.#base + R_DISPOSED) as WordOffset;
  }
}

/**
 * Coordinator only: calls `release(handle)` for every entry of a region whose store is gone, and
 * clears the entries. The region stays ATTACHED until `freeRegion`.
 */
export function drainRegion(
  i32: Int32Array,
  layout: Layout,
  storeId: number,
  release: (handle: number) => void,
): number {
  const base = regionBase(layout, storeId);
  const entries = base + REGION_HEADER_WORDS;
  const highWater = Math.min(i32[base + R_HIGH_WATER]!, layout.rootsPerStore);
  let released = 0;
  for (let e = 0; e < highWater; e++) {
    const h = i32[entries + e]!;
    if (h !== 0) {
      i32[entries + e] = 0;
      release(h >>> 0);
      released++;
    }
  }
  i32[base + R_HIGH_WATER] = 0;
  return released;
}

/**
 * Coordinator only: returns a drained region to the pool of free regions, first moving the
 * values its store created into the heap's `H_CREATED` (the store is gone, so nobody writes its
 * counter any more). A stats reader between the two steps may count them zero times, never twice.
 */
export function freeRegion(i32: Int32Array, layout: Layout, storeId: number): void {
  const base = regionBase(layout, storeId);
  // Disposed before created: a stats reader in between over-counts live objects, never under-counts.
  Atomics.add(i32, H_DISPOSED, Atomics.exchange(i32, base + R_DISPOSED, 0));
  Atomics.add(i32, H_WRAPS, Atomics.exchange(i32, base + R_WRAPS, 0));
  Atomics.add(i32, H_CREATED, Atomics.exchange(i32, base + R_CREATED, 0));
  Atomics.store(i32, base + R_STATE, REGION_FREE);
}

/** Word offset of store `storeId`'s mailbox word. */
export function mailboxWord(layout: Layout, storeId: number): number {
  return regionBase(layout, storeId) + R_MAILBOX;
}
