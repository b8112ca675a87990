/**
 * `Store`: one thread's root set in a heap, the public face of a store's core (core.ts).
 *
 * The thread that attached it only. The creating thread has `heap.store`; `heap.createStore()`
 * adds more on that thread; every pool worker gets one (`ctx.store`); a thread of the user's own
 * attaches one with `attachStore(link)`. Everything a store does lives in its core; this class is
 * what users see. sharedref's own modules reach the core through `coreOf` (src/store/internal.ts).
 */
import { kCore } from '../internal/keys';
import type { GcReport } from '../rpc/protocol';
import { StoreCore } from './core';
import type { StoreLink } from './link';
import type { hostModuleType } from './types';

export type { StoreLink } from './link';

/**
 * One thread's root set. Created by the heap or the pool, never with `new`. `H` is the type of the
 * heap's host module (`Heap.create<typeof import('./host.js')>(…)`), which types `ExternRef.newWith`;
 * it exists in the types only, and `unknown` (the default) allows any factory name.
 */
export class Store<H = unknown> {
  /** @internal The store's core (see src/internal/keys.ts). */
  readonly [kCore]: StoreCore;
  /** The host module's type, for `ExternRef.newWith`. Declared only: no such property exists. */
  declare readonly [hostModuleType]?: H;
  /** The store's id in this heap (1 … maxStores). */
  readonly id: number;
  /** Identifies the heap across threads (random per heap). */
  readonly heapId: number;

  /** @internal Use `heap.store`, `heap.createStore()`, `ctx.store` or `attachStore(link)`. */
  constructor(link: StoreLink) {
    if (typeof link !== 'object' || link === null || !(link.memory instanceof WebAssembly.Memory)) {
      throw new TypeError(
        'a Store is not constructed directly: use heap.store, heap.createStore(), ctx.store or attachStore(link)',
      );
    }
    this[kCore] = new StoreCore(this, link);
    this.id = link.storeId;
    this.heapId = link.heapId;
  }

  /** True once the store (or its heap) closed. */
  get closed(): boolean {
    return this[kCore].closed;
  }

  /** Counts this store holds now (roots of every kind, and owned raw handles). */
  get rootCount(): number {
    return this[kCore].region.used;
  }

  /**
   * Runs `fn` in a new root scope and returns what it returns. Roots created inside are released
   * when `fn` returns, or, for an async `fn`, when its promise settles.
   */
  scope<T>(fn: () => T): T {
    return this[kCore].scope(fn);
  }

  /**
   * Runs a collection on the coordinator from this store's thread (Wasmtime's `Store::gc`): for
   * example in a pool worker after `ERR_GC_HEAP_OOM`. The same collection as `heap.gc()`: it
   * disposes every object whose count reached 0, and resolves when their disposers are done (an
   * async one at most `userCodeTimeoutMs`).
   */
  gc(): Promise<GcReport> {
    return this[kCore].gc();
  }

  /**
   * Like `gc()`, but blocks this thread until the slots are freed: for host functions called from
   * Wasm, which cannot await. Disposers that return promises are not awaited.
   */
  gcSync(): GcReport {
    return this[kCore].gcSync();
  }

  /**
   * Closes this store: every count it holds is released before `close()` returns, its roots
   * become unusable, and its region can be taken by the next `createStore()` at once. Pending
   * calls of this store reject with `ERR_STORE_CLOSED`. Idempotent. The heap's own store
   * (`heap.store`) closes only with its heap: closing it alone throws a `TypeError`.
   */
  close(): void {
    const core = this[kCore];
    if (core.heapOwned && !core.closed) {
      throw new TypeError(
        'heap.store closes with its heap: call heap.close() (or use heap.createStore() for a store of your own)',
      );
    }
    core.closeNow();
  }
}
