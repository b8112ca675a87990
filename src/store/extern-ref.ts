/**
 * `ExternRef`: creating references and turning raw handles back into roots.
 *
 * The thread of the store passed in. Static functions only, mirroring Wasmtime's associated
 * functions (`ExternRef::new(&mut store, value)`); equality, hashing and ordering are on
 * identity, never on the value (the seed's `ptr_eq`/`hash`/`cmp`).
 */
import { BUILD_IN_PLACE, GcHeapOutOfMemory, InvalidHandleError, NotCloneableError } from '../errors';
import { rawHandle } from '../shared/handle';
import { describe } from '../options';
import { builtinTagOf } from '../shared/type-names';
import type { ManuallyRooted, RootBase, Rooted } from './roots';
import { Store } from './store';

/** What `GcHeapOutOfMemory#intoInner()` hands back from a failed `newWith`. */
export interface PendingConstruction {
  /** The factory name given to `newWith`. */
  readonly factory: string;
  /** The arguments given to `newWith`. */
  readonly args: unknown[];
}

function assertStore(store: unknown, what: string): asserts store is Store {
  if (!(store instanceof Store)) notAStore(store, what); // out of line: see roots.ts `unrooted`
}

function notAHandle(raw: unknown): never {
  throw new InvalidHandleError(raw, 'expected a u32 handle, or the i32 with the same bits');
}

function notAStore(store: unknown, what: string): never {
  throw new TypeError(`${what}: expected a Store, received ${describe(store)}`);
}

/** A copy of `value` that will travel to the coordinator, or ERR_NOT_CLONEABLE. */
function cloneForHeap(value: unknown, what: string): unknown {
  const t = typeof value;
  if (t === 'function' || t === 'symbol') {
    throw new NotCloneableError(what, new TypeError(`a ${t} cannot be cloned`), BUILD_IN_PLACE);
  }
  if (t !== 'object' || value === null) return value; // primitives are immutable: no copy needed
  try {
    return structuredClone(value);
  } catch (err) {
    throw new NotCloneableError(what, err, BUILD_IN_PLACE);
  }
}

/** A root entry for a new value in reserved slot `index`; on failure the slot goes back to the batch. */
function entryFor(store: Store, index: number, what: string): number {
  try {
    return store._allocEntry(what);
  } catch (err) {
    store._returnSlot(index);
    throw err;
  }
}

function allocate(store: Store, value: unknown, scoped: boolean, what: string): RootBase {
  assertStore(store, what);
  store._ensureOpen(what);
  const copy = cloneForHeap(value, what);
  const index = store._takeSlot();
  if (index < 0) throw new GcHeapOutOfMemory(value, store._slots.capacity);
  const e = entryFor(store, index, what);
  const handle = store._slots.publishLive(
    index,
    builtinTagOf(copy),
    store._region.wordOf(e),
    store._region.createdWord,
    true,
  );
  // The slot's version is the new object's first (it never goes back: see S_VERSION).
  store._cache.set(handle, index, copy, store._slots.version(index));
  store._conn.post(handle, copy);
  return store._wrap(scoped, index, handle, e);
}

function construct(store: Store, factory: string, args: unknown[], scoped: boolean, sync: true): RootBase;
function construct(store: Store, factory: string, args: unknown[], scoped: boolean, sync: false): Promise<RootBase>;
function construct(
  store: Store,
  factory: string,
  args: unknown[],
  scoped: boolean,
  sync: boolean,
): RootBase | Promise<RootBase> {
  const what = sync ? 'ExternRef.newWithSync' : 'ExternRef.newWith';
  assertStore(store, what);
  if (typeof factory !== 'string')
    throw new TypeError(`${what}: factory must be a string, received ${describe(factory)}`);
  store._ensureOpen(what);
  const index = store._takeSlot();
  if (index < 0) throw new GcHeapOutOfMemory<PendingConstruction>({ factory, args }, store._slots.capacity);
  const generation = store._slots.generation(index);
  const e = entryFor(store, index, what);
  const fail = (err: unknown): never => {
    store._region.free(e);
    if (!store.closed) store._returnSlot(index);
    throw err;
  };
  const finish = (tag: number): RootBase => {
    store._ensureOpen(what);
    // Built in place on the coordinator, never posted: its disposer runs there, so never recycled here.
    const handle = store._slots.publishLive(index, tag, store._region.wordOf(e), store._region.createdWord, false);
    return store._wrap(scoped, index, handle, e);
  };
  if (sync) {
    let tag: number;
    try {
      tag = store._conn.sync('construct', index, generation, factory, args);
    } catch (err) {
      return fail(err);
    }
    return finish(tag);
  }
  // The scope is chosen when the root is made; capture the caller's by creating it here.
  return store._conn.call('construct', index, generation, factory, args).then(finish, fail);
}

/**
 * References to host values, shared by every thread of a heap. All functions are static;
 * the roots they return (`Rooted`, `ManuallyRooted`) are what you use.
 */
export class ExternRef {
  private constructor() {}

  /**
   * Wraps a structured-cloneable `value` in a new object owned by the current scope. No round
   * trip: the slot comes from the store's reserved batch and the value is posted to the
   * coordinator. Throws `ERR_NOT_CLONEABLE` (nothing allocated) or `GcHeapOutOfMemory` carrying
   * `value` (run `heap.gc()` and retry with `err.intoInner()`).
   */
  static new(store: Store, value: unknown): Rooted {
    return allocate(store, value, true, 'ExternRef.new') as Rooted;
  }

  /** Like `new`, but returns a `ManuallyRooted` that lives until `unroot()`. */
  static newManuallyRooted(store: Store, value: unknown): ManuallyRooted {
    return allocate(store, value, false, 'ExternRef.newManuallyRooted') as ManuallyRooted;
  }

  /**
   * Builds a value in place on the coordinator by calling `factory(...args)`, an export of the
   * heap's `hostModule` (the seed's `new_with`). Use it for values that cannot move between
   * threads (files, sockets, class instances); use them through `call`. The new root belongs to
   * the scope that is current when the promise resolves.
   */
  static newWith(store: Store, factory: string, ...args: unknown[]): Promise<Rooted> {
    try {
      return construct(store, factory, args, true, false) as Promise<Rooted>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Like `newWith`, but blocks this thread until the value is built; the root joins the current scope. */
  static newWithSync(store: Store, factory: string, ...args: unknown[]): Rooted {
    return construct(store, factory, args, true, true) as Rooted;
  }

  /**
   * A new root for a raw handle, adding a count (the seed's `clone_from_raw`). `raw` is the `u32`,
   * or the `i32` with the same bits (as Wasm and `Int32Array` give it); `0` gives `null`. A forged
   * or stale handle, and anything that is not one of those two forms (a fraction, a number out of
   * range, a string), throws `ERR_INVALID_HANDLE` and changes nothing; a handle never resolves to
   * another object (I1).
   */
  static fromRaw(store: Store, raw: number): Rooted | null {
    assertStore(store, 'ExternRef.fromRaw');
    store._ensureOpen('ExternRef.fromRaw');
    const h = rawHandle(raw);
    if (h <= 0) return h === 0 ? null : notAHandle(raw);
    return store._rootFromRaw(h, true) as Rooted;
  }

  /** Like `fromRaw`, but returns a `ManuallyRooted`. */
  static fromRawManuallyRooted(store: Store, raw: number): ManuallyRooted | null {
    assertStore(store, 'ExternRef.fromRawManuallyRooted');
    store._ensureOpen('ExternRef.fromRawManuallyRooted');
    const h = rawHandle(raw);
    if (h <= 0) return h === 0 ? null : notAHandle(raw);
    return store._rootFromRaw(h, false) as ManuallyRooted;
  }

  /**
   * Takes back the count that `ManuallyRooted#intoRaw()` gave to `raw`, without adding one (the
   * seed's `from_raw`). Only the store that called `intoRaw` can; `0` gives `null`. Accepts the
   * same forms as `fromRaw`, and changes nothing when it refuses one.
   */
  static fromOwnedRaw(store: Store, raw: number): ManuallyRooted | null {
    assertStore(store, 'ExternRef.fromOwnedRaw');
    store._ensureOpen('ExternRef.fromOwnedRaw');
    const h = rawHandle(raw);
    if (h <= 0) return h === 0 ? null : notAHandle(raw);
    return store._takeOwnedRaw(h) as ManuallyRooted;
  }

  /** True when `a` and `b` are the same object (identity, not equal data). */
  static ptrEq(a: RootBase, b: RootBase): boolean {
    return a._handle === b._handle && a._store.heapId === b._store.heapId;
  }

  /** A hash of the object's identity (its handle), stable across threads of the heap. */
  static hash(a: RootBase): number {
    let h = Math.imul(a._handle ^ a._store.heapId, 0x9e3779b1);
    h ^= h >>> 16;
    return h >>> 0;
  }

  /** Orders objects by identity (heap, then handle): negative, 0 or positive. */
  static compare(a: RootBase, b: RootBase): number {
    if (a._store.heapId !== b._store.heapId) return a._store.heapId < b._store.heapId ? -1 : 1;
    return a._handle === b._handle ? 0 : a._handle < b._handle ? -1 : 1;
  }
}
