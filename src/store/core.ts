/**
 * A store's core: one thread's root set in a heap, and its link to the coordinator. Everything a
 * `Store` is, behind the public façade (store.ts), with the named operations the rest of
 * sharedref uses: make a value, a root from a raw handle, a clone, a borrowed argument, hold it,
 * adopt a transfer, send one, release a count.
 *
 * The thread that attached the store only. It reserves slots in batches so that `ExternRef.new`
 * needs no round trip (slot-batch.ts), caches values it created or read (value-cache.ts), and
 * records every count it holds in its region of shared memory (I4: the coordinator releases them
 * all if the thread dies). Roots point at their store's core.
 *
 * Which scope owns a new `Rooted`: the innermost open scope of the running code. Synchronous scopes
 * form a stack. Scopes of async functions (`store.scope(async () => …)`) are found through one
 * `AsyncLocalStorage` for the thread, so two async scopes interleaving on one store each keep their
 * own roots; it is consulted only while such a scope is pending, which keeps the common
 * synchronous path to one array read.
 *
 * Rejected: `_`-prefixed internals on `Store` itself (the first design). Every sibling module
 * reached into them (the Wasm ABI assembled a clone from raw parts), and they shipped in the
 * published declarations. Siblings reach the core through `coreOf` (src/store/internal.ts), which
 * the package entries never re-export.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  CrossStoreError,
  HeapClosedError,
  InvalidHandleError,
  RootLimitError,
  StoreClosedError,
  TransferLimitError,
} from '../errors';
import type { ResolvedHeapOptions } from '../options';
import type { GcReport } from '../rpc/protocol';
import type { RawHandle, SlotIndex } from '../shared/handle';
import { isHeapClosed } from '../shared/header';
import { type WordOffset, layoutOf } from '../shared/layout';
import { REGION_FULL, RootRegion, attachRegion, mailboxWord } from '../shared/root-region';
import { SlotTable } from '../shared/slot-table';
import { type TransferToken, TransferTable } from '../shared/transfer-table';
import { TypeNames } from '../shared/type-names';
import { Connection } from './connection';
import { BORROWED, BorrowedRoot, ManuallyRooted, type RootBase, RootScope, Rooted } from './roots';
import { SlotBatch } from './slot-batch';
import type { StoreLink } from './link';
import type { Store } from './store';
import { ValueCache } from './value-cache';

/** The `dataMut` leases this thread holds or waits for, per heap (see `StoreCore.leasing`). */
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

function rootLimit(what: string, limit: number): never {
  throw new RootLimitError(what, limit);
}

/** One thread's root set: the core behind a `Store`. */
export class StoreCore {
  /** The public façade of this core. */
  readonly store: Store;
  /** The store's id in this heap (1 … maxStores). */
  readonly id: number;
  /** Identifies the heap across threads (random per heap). */
  readonly heapId: number;
  /** The heap's options. */
  readonly options: ResolvedHeapOptions;
  /** The heap's slots and counts, seen from this thread. */
  readonly slots: SlotTable;
  /** This store's root entries. */
  readonly region: RootRegion;
  /** Type names (`typeOf`). */
  readonly types: TypeNames;
  /** The heap's transfer entries. */
  readonly transfers: TransferTable;
  /** Values this store created or read. */
  readonly cache: ValueCache;
  /** The ports to the coordinator. */
  readonly conn: Connection;
  /**
   * The `dataMut` leases this thread holds or waits for on this heap, by handle (shared by every
   * store of the heap on this thread): a blocking mutation of one of these objects would wait for
   * its own thread, so it is refused (`ERR_LEASE_REENTRANT`).
   */
  readonly leasing: Map<number, number>;
  /** Set by the heap on its own store, which only `heap.close()` closes. */
  heapOwned = false;
  readonly #i32: Int32Array;
  /** Word offset of this store's `R_DISPOSED` (for `release`). */
  readonly #disposedWord: WordOffset;
  readonly #batch: SlotBatch;
  readonly #storeScope: RootScope;
  readonly #stack: RootScope[] = [];
  #asyncScopes = 0;
  readonly #ownedRaw = new Map<number, number[]>();
  readonly #closeHooks: (() => void)[] = [];
  readonly #failHooks = new Set<(err: Error) => void>();
  #closed = false;

  /** Attaches the store of `link` (once: `TypeError` if the link was attached already). */
  constructor(store: Store, link: StoreLink) {
    const i32 = new Int32Array(link.memory.buffer);
    const layout = layoutOf(i32);
    const id = link.storeId;
    if (!Number.isInteger(id) || id < 1 || id > layout.maxStores || !attachRegion(i32, layout, id)) {
      throw new TypeError('attachStore: this store link was attached already (a link attaches once; make another)');
    }
    this.store = store;
    this.#i32 = i32;
    this.id = id;
    this.heapId = link.heapId;
    this.options = link.options;
    this.leasing = threadLeases(link.heapId);
    this.slots = new SlotTable(link.memory, layout);
    this.region = new RootRegion(i32, layout, id);
    this.#disposedWord = this.region.disposedWord;
    this.types = new TypeNames(i32, layout, (tag) => this.conn.sync('typeName', tag));
    this.transfers = new TransferTable(i32, layout, this.slots);
    this.cache = new ValueCache(link.options.cacheSize);
    this.conn = new Connection(
      i32,
      mailboxWord(layout, id),
      link.ports,
      (handle) => this.#beforePost(handle),
      (handle) => this.slots.liveIndexOf(handle) < 0 && !this.slots.isWanted(handle),
    );
    this.#batch = new SlotBatch(this.conn, link.options.batchSize);
    this.#storeScope = RootScope._detached(this);
  }

  /** True once the store (or its heap) closed. */
  get closed(): boolean {
    return this.#closed || isHeapClosed(this.#i32);
  }

  /** Throws ERR_HEAP_CLOSED / ERR_STORE_CLOSED if the store can no longer be used. */
  ensureOpen(what: string): void {
    this.conn.ensureOpen(what); // closed together with this store, in closeNow()
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** See `Store#gc`. */
  gc(): Promise<GcReport> {
    try {
      this.ensureOpen('gc');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.conn.call('collect', true);
  }

  /** See `Store#gcSync`. */
  gcSync(): GcReport {
    this.ensureOpen('gcSync');
    return this.conn.sync('collect', false);
  }

  /** Closes the store (its goodbye waits for the coordinator's clean-up). Idempotent. */
  closeNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    const heapClosed = isHeapClosed(this.#i32);
    this.conn.close(() => (heapClosed ? new HeapClosedError() : new StoreClosedError()));
    for (const hook of [...this.#failHooks])
      hook(heapClosed ? new HeapClosedError('dataMut') : new StoreClosedError('dataMut'));
    this.#batch.clear();
    this.cache.clear();
    for (const hook of this.#closeHooks.splice(0)) hook();
  }

  /**
   * Fails every call still waiting for the coordinator with `makeError()` (it died, or the heap
   * is closing), and every wait registered with `onFail`.
   */
  failPending(makeError: () => Error): void {
    this.conn.rpc.fail(makeError);
    for (const hook of [...this.#failHooks]) hook(makeError());
  }

  /**
   * Calls `hook` with the error if this store's pending work fails (`failPending`, or the store
   * closes) before the returned function is called. For waits on user code that no reply ends:
   * a `dataMut` fn that never settles.
   */
  onFail(hook: (err: Error) => void): () => void {
    this.#failHooks.add(hook);
    return () => this.#failHooks.delete(hook);
  }

  /** Runs `hook` when this store closes. */
  onClose(hook: () => void): void {
    this.#closeHooks.push(hook);
  }

  // ---- scopes -----------------------------------------------------------------------------------

  /** See `Store#scope`. */
  scope<T>(fn: () => T): T {
    this.ensureOpen('scope');
    const scope = new RootScope(this.store);
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

  /** A scope opens: push it; returns the async context it belongs to. */
  enterScope(scope: RootScope): unknown {
    this.#stack.push(scope);
    return this.#asyncScopes > 0 ? this.#asyncScope() : undefined;
  }

  /** This store's innermost async scope around the running code, if any (see `asyncScopes`). */
  #asyncScope(): RootScope | undefined {
    let ctx = asyncScopes.getStore();
    while (ctx !== undefined && ctx._core !== this) ctx = ctx._outer;
    return ctx;
  }

  /** A scope closes: take it off the stack wherever it is. */
  leaveScope(scope: RootScope): void {
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

  /** The scope that owns a `Rooted` created now. */
  currentScope(): RootScope {
    const top = this.#stack[this.#stack.length - 1];
    if (this.#asyncScopes === 0) return top ?? this.#storeScope;
    const ctx = this.#asyncScope();
    if (top !== undefined && top._ctx === ctx) return top;
    if (ctx !== undefined && ctx._open) return ctx;
    return top ?? this.#storeScope;
  }

  // ---- slots and entries ------------------------------------------------------------------------

  /** A reserved slot index for a new value, or -1 when the heap is full. */
  takeSlot(): SlotIndex {
    return this.#batch.take();
  }

  /** Gives an unused reserved slot back to this store's batch. */
  returnSlot(index: SlotIndex): void {
    this.#batch.give(index);
  }

  /**
   * Whether the queued value of `handle` is to be posted: false if its object is gone (count 0,
   * so nothing can ask for it any more), unless a request accepted while it lived waits for it at
   * the coordinator. A live one's slot is marked posted first, so that from then on only the
   * coordinator, which will hold the value, frees it.
   */
  #beforePost(handle: RawHandle): boolean {
    const index = this.slots.liveIndexOf(handle);
    if (index < 0) return this.slots.isWanted(handle);
    this.slots.markPosted(index);
    return true;
  }

  /** A free root entry, or throws ERR_ROOT_LIMIT. */
  allocEntry(what: string): number {
    const e = this.region.alloc();
    if (e === REGION_FULL) rootLimit(what, this.options.rootsPerStore); // out of line: see roots.ts `unrooted`
    return e;
  }

  /** A `Rooted` for the count of entry `e`, owned by `scope` (default: the current one). */
  scoped(index: SlotIndex, handle: RawHandle, e: number, scope?: RootScope): Rooted {
    const r = new Rooted(this, index, handle, e);
    (scope ?? this.currentScope())._roots.push(r);
    return r;
  }

  /** A `ManuallyRooted` for the count of entry `e`. */
  manual(index: SlotIndex, handle: RawHandle, e: number): ManuallyRooted {
    return new ManuallyRooted(this, index, handle, e);
  }

  /**
   * Releases the count of entry `e` (slot `index`). The last count of a value this store created
   * and has not posted yet (a temporary, such as a host function's result that the guest dropped)
   * recycles its slot here, into this store's batch, without the coordinator.
   */
  release(index: SlotIndex, e: number): void {
    if (this.closed) return; // the coordinator released this store's counts at close
    const region = this.region;
    if (this.slots.dropOwn(index, region.wordOf(e), region.storeId, this.#disposedWord)) this.#batch.give(index);
    region.free(e);
  }

  // ---- roots ------------------------------------------------------------------------------------

  /** A new manual root of what the counted root `root` holds: small enough to inline with its unroot. */
  cloneManual(root: ManuallyRooted): ManuallyRooted {
    const e = this.allocEntry('clone');
    this.slots.cloneHeld(root._index, this.region.wordOf(e), root._handle);
    return new ManuallyRooted(this, root._index, root._handle, e);
  }

  /** A new manual root (one more count) of the object any root of this store holds. */
  toManual(root: RootBase): ManuallyRooted {
    return new ManuallyRooted(this, root._index, root._handle, this.countEntry(root, 'clone'));
  }

  /** A new scoped root (one more count) of the object any root of this store holds, in `scope` if given. */
  toScoped(root: RootBase, scope?: RootScope): Rooted {
    return this.scoped(root._index, root._handle, this.countEntry(root, 'clone'), scope);
  }

  /**
   * One more count of the object `root` holds, recorded in a new entry of this store, which the
   * caller owns from now on (release it with `release(root._index, entry)`): a clone, a guest's
   * reference, a handle kept for a call.
   */
  countEntry(root: RootBase, what: string): number {
    if (root._entry === BORROWED) this.hold(root);
    const e = this.allocEntry(what);
    this.slots.cloneHeld(root._index, this.region.wordOf(e), root._handle);
    return e;
  }

  /**
   * A count of the object `root` holds, in an entry the caller owns from now on: `root`'s own if
   * it is the newest root of `scope`, which is about to close (the root ends here, as it would
   * have there: a host function's fresh result), else a new one (`countEntry`). Moving it costs
   * no kernel call; cloning it cost one, and its release another.
   */
  takeEntry(root: RootBase, scope: RootScope, what: string): number {
    const roots = scope._roots;
    if (roots.length === 0 || roots[roots.length - 1] !== root) return this.countEntry(root, what);
    roots.pop();
    const e = root._entry;
    root._entry = -1;
    return e;
  }

  /**
   * A borrowed `Rooted` (no count, see `BORROWED`) in `scope` for a handle that a Wasm guest
   * passed to a host function, or throws ERR_INVALID_HANDLE.
   */
  borrow(raw: number, scope: RootScope): Rooted {
    const index = this.slots.liveIndexOf(raw);
    if (index < 0) throw new InvalidHandleError(raw);
    return new BorrowedRoot(this, index, (raw >>> 0) as RawHandle, scope); // live a moment ago: a handle
  }

  /** A borrowed root for a slot already known live (a guest object's, which holds a count). */
  borrowLive(index: SlotIndex, handle: RawHandle, scope: RootScope): Rooted {
    return new BorrowedRoot(this, index, handle, scope);
  }

  /**
   * Makes sure `root` holds a count of its own before someone adds one more on the strength of it
   * (a clone, a transfer, a guest object): a borrowed root takes one now, for the rest of its
   * scope, or throws ERR_INVALID_HANDLE if its object is gone.
   */
  hold(root: RootBase): void {
    if (root._entry !== BORROWED) return;
    const e = this.allocEntry('borrowed argument');
    if (this.slots.tryCloneRaw(root._handle, this.region.wordOf(e)) < 0) {
      this.region.free(e);
      throw new InvalidHandleError(root._handle, 'the object a borrowed argument named was freed during the call');
    }
    root._entry = e;
    (root as BorrowedRoot)._scope._roots.push(root); // released with the call's scope
  }

  /** A new scoped root for an untrusted `u32` handle (adds a count), or throws ERR_INVALID_HANDLE. */
  fromRaw(raw: number, scope?: RootScope): Rooted {
    const e = this.allocEntry('fromRaw');
    const index = this.slots.tryCloneRaw(raw, this.region.wordOf(e));
    if (index < 0) this.#refuseRaw(raw, e);
    return this.scoped(index, raw as RawHandle, e, scope); // counted now: a handle of a live object
  }

  /** `fromRaw`, as a manual root. */
  fromRawManual(raw: number): ManuallyRooted {
    const e = this.allocEntry('fromRaw');
    const index = this.slots.tryCloneRaw(raw, this.region.wordOf(e));
    if (index < 0) this.#refuseRaw(raw, e);
    return new ManuallyRooted(this, index, raw as RawHandle, e); // counted now: a handle of a live object
  }

  #refuseRaw(raw: number, e: number): never {
    this.region.free(e);
    throw new InvalidHandleError(raw);
  }

  /** `intoRaw`: entry `e` now belongs to the raw number until `takeOwnedRaw`. */
  keepOwnedRaw(handle: RawHandle, e: number): void {
    const list = this.#ownedRaw.get(handle);
    if (list === undefined) this.#ownedRaw.set(handle, [e]);
    else list.push(e);
  }

  /** Whether `intoRaw` gave a count to the `u32` `handle` on this store that nobody took back yet. */
  ownsRaw(handle: number): boolean {
    return this.#ownedRaw.has(handle);
  }

  /** `fromOwnedRaw`: takes back a count `intoRaw` gave to the `u32` `handle` on this store. */
  takeOwnedRaw(handle: number): ManuallyRooted {
    const list = this.#ownedRaw.get(handle);
    const e = list?.pop();
    if (e === undefined) {
      if (this.slots.check(handle) < 0) throw new InvalidHandleError(handle);
      throw new CrossStoreError(
        'fromOwnedRaw',
        `handle 0x${handle.toString(16)} owns no count in this store (use intoRaw on this store, or fromRaw to ` +
          'add a count)',
      );
    }
    if (list!.length === 0) this.#ownedRaw.delete(handle);
    // The count this entry holds keeps the slot live, so its index needs no check (and `check`,
    // which answers -1 for a slot that is not LIVE, must never become the index a drop uses).
    return new ManuallyRooted(this, this.slots.indexOf(handle), handle as RawHandle, e);
  }

  // ---- transfers --------------------------------------------------------------------------------

  /**
   * Parks one new count of the object `root` holds in a transfer entry owned by `owner` (default:
   * this store) with `tag`, and returns its token. ERR_TRANSFER_LIMIT when every entry is in
   * flight; the root is checked first (`what` names the operation).
   */
  sendTransfer(
    root: RootBase,
    what: string,
    owner?: { readonly storeId: number; readonly tag: number },
  ): TransferToken {
    root._check(what);
    this.hold(root);
    // The receiver may read the value at once, while this thread is busy: post it first.
    this.flushPosts();
    const token = this.transfers.send(owner?.storeId ?? this.id, root._index, root._handle, owner?.tag ?? 0);
    if (token === null) throw new TransferLimitError(this.options.transfers);
    return token;
  }

  /** Adopts a transferred count as a root of this store (`manual` or scoped), or null if it was lost. */
  adopt(token: TransferToken, kind: 'manual' | 'scoped'): RootBase | null {
    this.ensureOpen('adopt');
    const e = this.allocEntry('adopt');
    const index = this.transfers.adopt(token, this.region.wordOf(e));
    if (index < 0) {
      this.region.free(e);
      return null;
    }
    const handle = (token.handle >>> 0) as RawHandle;
    return kind === 'manual' ? new ManuallyRooted(this, index, handle, e) : this.scoped(index, handle, e);
  }

  /** Gives back the count of `root` (a root of this store), as its scope's end would. */
  releaseRoot(root: RootBase): void {
    root._release();
  }

  /** Releases `token` if nobody adopted it; true if it did. */
  releaseTransfer(token: TransferToken): boolean {
    return this.transfers.release(token);
  }

  /** Releases every transfer still in flight owned by this store whose tag passes `isTag`. */
  releaseTransfersTagged(isTag: (tag: number) => boolean): number {
    return this.transfers.releaseTaggedAny(this.id, isTag);
  }

  // ---- values -----------------------------------------------------------------------------------

  /**
   * Caches `value`, read from the coordinator for `handle` (slot `index`) after this thread saw
   * the slot's version at `version`, and returns it.
   */
  remember(handle: RawHandle, index: SlotIndex, value: unknown, version: number): unknown {
    this.cache.set(handle, index, value, version);
    return value;
  }

  /** Posts this store's queued values now (before a handle leaves the thread). */
  flushPosts(): void {
    if (this.conn.hasQueued) this.conn.flush();
  }
}
