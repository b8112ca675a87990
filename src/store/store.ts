/**
 * A store: one thread's root set in a heap, and its link to the coordinator.
 *
 * The thread that attached it only. The creating thread has `heap.store`; `heap.createStore()`
 * adds more on that thread; every pool worker gets one. A store reserves slots in batches so
 * that `ExternRef.new` needs no round trip, caches values it created or read, and records every
 * count it holds in its region of shared memory (I4).
 *
 * Which scope owns a new `Rooted`: the innermost open scope of the running code. Synchronous
 * scopes form a stack. Scopes of async functions (`store.scope(async () => …)`) are found through
 * an `AsyncLocalStorage`, so two async scopes interleaving on one store each keep their own
 * roots. The `AsyncLocalStorage` is only consulted while such a scope is pending, which keeps
 * the common synchronous path to one array read.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { CrossStoreError, HeapClosedError, InvalidHandleError, RootLimitError, StoreClosedError } from '../errors';
import type { ResolvedHeapOptions } from '../options';
import type { GcReport, StorePorts } from '../rpc/protocol';
import { isHeapClosed } from '../shared/header';
import { layoutOf } from '../shared/layout';
import { REGION_FULL, RootRegion, attachRegion, mailboxWord } from '../shared/root-region';
import { SlotTable } from '../shared/slot-table';
import { type TransferToken, TransferTable } from '../shared/transfer-table';
import { TypeNames } from '../shared/type-names';
import { Connection } from './connection';
import { BORROWED, BorrowedRoot, ManuallyRooted, type RootBase, RootScope, Rooted } from './roots';
import { ValueCache } from './value-cache';

/** Everything a thread needs to attach a store to a heap. Cloneable, once (it carries ports). */
export interface StoreLink {
  /** The heap's shared metadata: a shared `WebAssembly.Memory` (its buffer is the heap's `SharedArrayBuffer`). */
  readonly memory: WebAssembly.Memory;
  /** The heap's id (`heap.id`). */
  readonly heapId: number;
  /** The id of the store region reserved for the new store. */
  readonly storeId: number;
  /** The new store's ends of its three ports to the coordinator; they travel with the link. */
  readonly ports: StorePorts;
  /** The heap's options, defaults filled in. */
  readonly options: ResolvedHeapOptions;
}

/** The `dataMut` leases this thread holds or waits for, per heap (see `Store._leasing`). */
const leasesByHeap = new Map<number, Map<number, number>>();
function threadLeases(heapId: number): Map<number, number> {
  let m = leasesByHeap.get(heapId);
  if (m === undefined) leasesByHeap.set(heapId, (m = new Map()));
  return m;
}

/**
 * The async scopes of every store of this thread (`store.scope(async () => …)`), one
 * `AsyncLocalStorage` for all: its value is the innermost async scope of any store, and each scope
 * links to the one it was entered in (`_outer`), so a store finds its own by walking out.
 * Rejected: one `AsyncLocalStorage` per store (the first design). An instance stays enabled once
 * used, and each enabled instance adds work to every promise the thread makes: a thread that had
 * made a few thousand stores ran twice as slow.
 */
const asyncScopes = new AsyncLocalStorage<RootScope>();

/** An empty slot batch. */
const NO_SLOTS = new Int32Array(0);

/** One thread's root set. Created by the heap or the pool, never with `new`. */
export class Store {
  /** The store's id in this heap (1 … maxStores). */
  readonly id: number;
  /** Identifies the heap across threads (random per heap). */
  readonly heapId: number;
  /** @internal */ readonly _slots: SlotTable;
  /** @internal */ readonly _region: RootRegion;
  /** @internal */ readonly _types: TypeNames;
  /** @internal */ readonly _transfers: TransferTable;
  /** @internal */ readonly _cache: ValueCache;
  /** @internal */ readonly _conn: Connection;
  /** @internal */ readonly _options: ResolvedHeapOptions;
  readonly #i32: Int32Array;
  /** Word offset of this store's `R_DISPOSED` (for `_releaseEntry`). */
  readonly #disposedWord: number;
  /**
   * Reserved slots not used yet, first in first out: a ring, `#batch[#batchHead …]` for
   * `#batchCount` slots (mod its length, a power of two). A slot this store recycles goes to the
   * back, so it is reused only after every other slot of the batch (see handle.ts on why that
   * matters: a stale handle is refused for a number of reuses of its slot).
   */
  #batch: Int32Array = NO_SLOTS;
  #batchHead = 0;
  #batchCount = 0;
  /** Batch top at which the next batch is requested: three quarters of the batch as granted (see `_takeSlot`). */
  #prefetchAt = 0;
  readonly #storeScope: RootScope;
  readonly #stack: RootScope[] = [];
  #asyncScopes = 0;
  readonly #ownedRaw = new Map<number, number[]>();
  readonly #closeHooks: Array<() => void> = [];
  /**
   * @internal The `dataMut` leases this thread holds or waits for on this heap, by handle (shared
   * by every store of the heap on this thread): a blocking mutation of one of these objects
   * would wait for its own thread, so it is refused (`ERR_LEASE_REENTRANT`).
   */
  readonly _leasing: Map<number, number>;
  #closed = false;

  /** @internal Use `heap.store`, `heap.createStore()` or `ctx.store`. */
  constructor(link: StoreLink) {
    const i32 = new Int32Array(link.memory.buffer);
    const layout = layoutOf(i32);
    const id = link.storeId;
    if (!Number.isInteger(id) || id < 1 || id > layout.maxStores || !attachRegion(i32, layout, id)) {
      throw new TypeError('attachStore: this store link was attached already (a link attaches once; make another)');
    }
    this.#i32 = i32;
    this.id = link.storeId;
    this.heapId = link.heapId;
    this._options = link.options;
    this._leasing = threadLeases(link.heapId);
    this._slots = new SlotTable(link.memory, layout);
    this._region = new RootRegion(i32, layout, link.storeId);
    this.#disposedWord = this._region.disposedWord;
    this._types = new TypeNames(i32, layout, (tag) => this._conn.sync('typeName', tag));
    this._transfers = new TransferTable(i32, layout, this._slots);
    this._cache = new ValueCache(link.options.cacheSize);
    this._conn = new Connection(i32, mailboxWord(layout, link.storeId), link.ports, (handle) =>
      this.#beforePost(handle),
    );
    this.#storeScope = Object.create(RootScope.prototype) as RootScope;
    Object.assign(this.#storeScope, { store: this, _roots: [], _ctx: undefined, _open: true });
  }

  /** True once the store (or its heap) closed. */
  get closed(): boolean {
    return this.#closed || isHeapClosed(this.#i32);
  }

  /** Counts this store holds now (roots of every kind, and owned raw handles). */
  get rootCount(): number {
    return this._region.used;
  }

  /**
   * Runs `fn` in a new root scope and returns what it returns. Roots created inside are released
   * when `fn` returns, or, for an async `fn`, when its promise settles.
   */
  scope<T>(fn: () => T): T {
    this._ensureOpen('scope');
    const scope = new RootScope(this);
    scope._ctx = scope;
    scope._outer = asyncScopes.getStore();
    let result: T;
    try {
      result = asyncScopes.run(scope, fn);
    } catch (err) {
      scope.close();
      throw err;
    }
    if (result instanceof Promise) {
      this.#unstack(scope);
      this.#asyncScopes++;
      const settle = (): void => {
        this.#asyncScopes--;
        scope.close();
      };
      return result.then(
        (v) => {
          settle();
          return v;
        },
        (err: unknown) => {
          settle();
          throw err;
        },
      ) as T;
    }
    scope.close();
    return result;
  }

  /**
   * Runs a collection on the coordinator, from this store's thread (the seed's `Store::gc`): for
   * example in a pool worker after `ERR_GC_HEAP_OOM`. The same collection as `heap.gc()`.
   */
  gc(): Promise<GcReport> {
    try {
      this._ensureOpen('gc');
    } catch (err) {
      return Promise.reject(err);
    }
    return this._conn.call('collect', true);
  }

  /**
   * Like `gc()`, but blocks this thread until the collection is done: for host functions called
   * from Wasm, which cannot await. Disposers that return promises are not awaited.
   */
  gcSync(): GcReport {
    this._ensureOpen('gcSync');
    return this._conn.sync('collect', false);
  }

  /**
   * Closes this store: every count it holds is released before `close()` returns, its roots
   * become unusable, and its region can be taken by the next `createStore()` at once. Pending
   * calls of this store reject with `ERR_STORE_CLOSED`. Idempotent. The heap's own store
   * (`heap.store`) closes only with its heap: closing it alone throws a `TypeError`.
   */
  close(): void {
    if (this.#closed) return;
    if (this._heapOwned) {
      throw new TypeError(
        'heap.store closes with its heap: call heap.close() (or use heap.createStore() for a store of your own)',
      );
    }
    this._closeNow();
  }

  /** @internal Set by the heap on its own store, which only `heap.close()` closes. */
  _heapOwned = false;

  /** @internal Closes the store (the heap closes its own store this way). */
  _closeNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    const heapClosed = isHeapClosed(this.#i32);
    this._conn.close(() => (heapClosed ? new HeapClosedError() : new StoreClosedError()));
    this.#batch = NO_SLOTS;
    this.#batchHead = 0;
    this.#batchCount = 0;
    this._cache.clear();
    for (const hook of this.#closeHooks.splice(0)) hook();
  }

  /** @internal Runs `hook` when this store closes. */
  _onClose(hook: () => void): void {
    this.#closeHooks.push(hook);
  }

  /** @internal */
  _ensureOpen(what: string): void {
    this._conn.ensureOpen(what); // closed together with this store, in close()
  }

  // ---- scopes -------------------------------------------------------------------------------

  /** @internal A scope opens: push it; returns the async context it belongs to. */
  _enterScope(scope: RootScope): unknown {
    this.#stack.push(scope);
    return this.#asyncScopes > 0 ? this.#asyncScope() : undefined;
  }

  /** This store's innermost async scope around the running code, if any (see `asyncScopes`). */
  #asyncScope(): RootScope | undefined {
    let ctx = asyncScopes.getStore();
    while (ctx !== undefined && ctx.store !== this) ctx = ctx._outer;
    return ctx;
  }

  /** @internal A scope closes: take it off the stack wherever it is. */
  _leaveScope(scope: RootScope): void {
    this.#unstack(scope);
  }

  #unstack(scope: RootScope): void {
    const s = this.#stack;
    if (s[s.length - 1] === scope) s.pop();
    else {
      const i = s.lastIndexOf(scope);
      if (i >= 0) s.splice(i, 1);
    }
  }

  /** @internal The scope that owns a `Rooted` created now. */
  _currentScope(): RootScope {
    return this.#current();
  }

  /** The scope that owns a `Rooted` created now. */
  #current(): RootScope {
    const top = this.#stack[this.#stack.length - 1];
    if (this.#asyncScopes === 0) return top ?? this.#storeScope;
    const ctx = this.#asyncScope();
    if (top !== undefined && top._ctx === ctx) return top;
    if (ctx !== undefined && ctx._open) return ctx;
    return top ?? this.#storeScope;
  }

  // ---- slots and counts -----------------------------------------------------------------------

  /**
   * @internal A reserved slot index for a new value, or -1 when the heap is full. When a quarter
   * of the batch is used, the next batch is requested without waiting, and collected when this one
   * runs out: by then the coordinator has usually answered, so `new` rarely waits for a grant. (At
   * half, a Wasm loop making a value per call used half a batch in ~300 µs, about the round trip.)
   */
  _takeSlot(): number {
    const n = this.#batchCount;
    if (n === this.#prefetchAt && n > 0 && !this._conn.pending('grant')) {
      this._conn.begin('grant', this._options.batchSize);
    }
    if (n === 0) return this.#refill();
    const head = this.#batchHead;
    this.#batchHead = (head + 1) & (this.#batch.length - 1);
    this.#batchCount = n - 1;
    return this.#batch[head]!;
  }

  /** The batch ran out: take the next one (prefetched, or asked for now); -1 when the heap is full. */
  #refill(): number {
    let next = this._conn.pending('grant') ? this._conn.finish('grant') : NO_SLOTS;
    // An empty answer may be stale (the heap was full when it was asked, and a collection
    // may have run since): only a fresh one means out of memory.
    if (next.length === 0) next = this._conn.sync('grant', this._options.batchSize);
    if (next.length === 0) return -1;
    if (this.#batch.length < next.length) this.#batch = new Int32Array(2 ** Math.ceil(Math.log2(next.length)));
    this.#batch.set(next);
    this.#batchHead = 1;
    this.#batchCount = next.length - 1;
    this.#prefetchAt = next.length - (next.length >> 2);
    return next[0]!;
  }

  /**
   * Whether the queued value of `handle` is to be posted: false if its object is gone (count 0,
   * so nothing can ask for it any more), unless a request accepted while it lived waits for it at
   * the coordinator. A live one's slot is marked posted first, so that from then on only the
   * coordinator, which will hold the value, frees it.
   */
  #beforePost(handle: number): boolean {
    const index = this._slots.liveIndexOf(handle);
    if (index < 0) return this._slots.isWanted(handle);
    this._slots.markPosted(index);
    return true;
  }

  /** @internal Gives an unused reserved slot back to this store's batch. */
  _returnSlot(index: number): void {
    if (this.#batchCount === this.#batch.length) this.#grow();
    this.#batch[(this.#batchHead + this.#batchCount++) & (this.#batch.length - 1)] = index;
  }

  /** Doubles the batch ring, keeping its order. */
  #grow(): void {
    const old = this.#batch;
    const bigger = new Int32Array(Math.max(16, old.length * 2));
    for (let k = 0; k < this.#batchCount; k++) bigger[k] = old[(this.#batchHead + k) & (old.length - 1)]!;
    this.#batch = bigger;
    this.#batchHead = 0;
  }

  /** @internal A free root entry, or throws ERR_ROOT_LIMIT. */
  _allocEntry(what: string): number {
    const e = this._region.alloc();
    if (e === REGION_FULL) this.#rootLimit(what); // its throw out of line: see roots.ts `unrooted`
    return e;
  }

  #rootLimit(what: string): never {
    throw new RootLimitError(what, this._options.rootsPerStore);
  }

  /** @internal Wraps a count already recorded in entry `e` as a root of this store (in `scope`, or the current one). */
  _wrap(scoped: boolean, index: number, handle: number, e: number, scope?: RootScope): RootBase {
    return scoped ? this.#scoped(index, handle, e, scope) : new ManuallyRooted(this, index, handle, e);
  }

  #scoped(index: number, handle: number, e: number, scope: RootScope | undefined): Rooted {
    const r = new Rooted(this, index, handle, e);
    (scope ?? this.#current())._roots.push(r);
    return r;
  }

  /**
   * @internal Releases the count of entry `e` (slot `index`). The last count of a value this
   * store created and has not posted yet (a temporary, such as a host function's result that the
   * guest dropped) recycles its slot here, into this store's batch, without the coordinator.
   */
  _releaseEntry(index: number, e: number): void {
    if (this.closed) return; // the coordinator released this store's counts at close
    const region = this._region;
    if (this._slots.dropOwn(index, region.wordOf(e), region.storeId, this.#disposedWord)) this._returnSlot(index);
    region.free(e);
  }

  /**
   * @internal `_cloneRoot` for a manual root (`ManuallyRooted#clone`), small enough to inline whole with the unroot
   * after it.
   */
  _cloneManual(root: ManuallyRooted): ManuallyRooted {
    const e = this._allocEntry('clone');
    this._slots.cloneHeld(root._index, this._region.wordOf(e), root._handle);
    return new ManuallyRooted(this, root._index, root._handle, e);
  }

  /** @internal A new root (one more count) of the object `root` holds, in `scope` if given. */
  _cloneRoot(root: RootBase, scoped: boolean, scope?: RootScope): RootBase {
    if (root._entry === BORROWED) this._hold(root);
    const e = this._allocEntry('clone');
    this._slots.cloneHeld(root._index, this._region.wordOf(e), root._handle);
    return this._wrap(scoped, root._index, root._handle, e, scope);
  }

  /**
   * @internal A borrowed `Rooted` (no count, see `BORROWED`) in `scope` for a handle that a Wasm
   * guest passed to a host function, or throws ERR_INVALID_HANDLE.
   */
  _borrow(raw: number, scope: RootScope): Rooted {
    const index = this._slots.liveIndexOf(raw);
    if (index < 0) throw new InvalidHandleError(raw);
    return new BorrowedRoot(this, index, raw >>> 0, scope);
  }

  /**
   * @internal Makes sure `root` holds a count of its own before someone adds one more on the
   * strength of it (a clone, a transfer, a guest object): a borrowed root takes one now, for the
   * rest of its scope, or throws ERR_INVALID_HANDLE if its object is gone.
   */
  _hold(root: RootBase): void {
    if (root._entry !== BORROWED) return;
    const e = this._allocEntry('borrowed argument');
    if (this._slots.tryCloneRaw(root._handle, this._region.wordOf(e)) < 0) {
      this._region.free(e);
      throw new InvalidHandleError(root._handle, 'the object a borrowed argument named was freed during the call');
    }
    root._entry = e;
    (root as BorrowedRoot)._scope._roots.push(root); // released with the call's scope
  }

  /** @internal A new root for an untrusted raw handle (adds a count), or throws ERR_INVALID_HANDLE. */
  _rootFromRaw(raw: number, scoped: boolean, scope?: RootScope): RootBase {
    const e = this._allocEntry('fromRaw');
    const index = this._slots.tryCloneRaw(raw, this._region.wordOf(e));
    if (index < 0) this.#refuseRaw(raw, e);
    // `_wrap` spelled out: this path is inlined whole into a caller's loop only while it is small.
    return scoped ? this.#scoped(index, raw >>> 0, e, scope) : new ManuallyRooted(this, index, raw >>> 0, e);
  }

  #refuseRaw(raw: number, e: number): never {
    this._region.free(e);
    throw new InvalidHandleError(raw);
  }

  /** @internal Adopts a transferred count as a root of this store, or null if it was lost. */
  _adopt(token: TransferToken, manual: boolean): RootBase | null {
    this._ensureOpen('adopt');
    const e = this._allocEntry('adopt');
    const index = this._transfers.adopt(token, this._region.wordOf(e));
    if (index < 0) {
      this._region.free(e);
      return null;
    }
    return this._wrap(!manual, index, token.handle >>> 0, e);
  }

  /** @internal `intoRaw`: entry `e` now belongs to the raw number until `fromOwnedRaw`. */
  _keepOwnedRaw(handle: number, e: number): void {
    const list = this.#ownedRaw.get(handle);
    if (list === undefined) this.#ownedRaw.set(handle, [e]);
    else list.push(e);
  }

  /** @internal `fromOwnedRaw`: takes back a count given up by `intoRaw` on this store. */
  _takeOwnedRaw(raw: number): RootBase {
    const handle = raw >>> 0;
    const list = this.#ownedRaw.get(handle);
    const e = list?.pop();
    if (e === undefined) {
      if (this._slots.check(handle) < 0) throw new InvalidHandleError(raw);
      throw new CrossStoreError(
        'fromOwnedRaw',
        `handle 0x${handle.toString(16)} owns no count in this store (use intoRaw on this store, or fromRaw to ` +
          'add a count)',
      );
    }
    if (list!.length === 0) this.#ownedRaw.delete(handle);
    // The count this entry holds keeps the slot live, so its index needs no check (and `check`,
    // which answers -1 for a slot that is not LIVE, must never become the index a drop uses).
    return new ManuallyRooted(this, this._slots.indexOf(handle), handle, e);
  }

  // ---- cache ----------------------------------------------------------------------------------

  /**
   * @internal Caches `value`, read from the coordinator for `handle` (slot `index`) after this
   * thread saw the slot's version at `version`, and returns it.
   */
  _remember(handle: number, index: number, value: unknown, version: number): unknown {
    this._cache.set(handle, index, value, version);
    return value;
  }
}
