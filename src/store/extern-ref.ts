/**
 * `ExternRef`: creating references and turning raw handles back into roots.
 *
 * The thread of the store passed in. Static functions only, mirroring Wasmtime's associated
 * functions (`ExternRef::new(&mut store, value)`); equality, hashing and ordering are on
 * identity, never on the value (Wasmtime's `ptr_eq`/`hash`/`cmp`).
 */
import { BUILD_IN_PLACE, GcHeapOutOfMemory, InvalidHandleError } from '../errors';
import { type RawHandle, type SlotIndex, rawHandle } from '../shared/handle';
import { describe } from '../options';
import { builtinTagOf } from '../shared/type-names';
import { maybeCoreOf } from '../internal/keys';
import type { StoreCore } from './core';
import type { ManuallyRooted, RootBase, Rooted } from './roots';
import { heapCopy } from './roots';
import type { Store } from './store';
import type { Built, Cloneable, Cloned, FactoryArgs, FactoryName, InPlace } from './types';

/** What `GcHeapOutOfMemory#intoInner()` hands back from a failed `newWith`. */
export interface PendingConstruction {
  /** The factory name given to `newWith`. */
  readonly factory: string;
  /** The arguments given to `newWith`. */
  readonly args: unknown[];
}

/** The core of `store`, or a TypeError naming `what` when it is not a `Store`. */
function coreFor(store: unknown, what: string): StoreCore {
  const core = maybeCoreOf(store);
  if (core === undefined) notAStore(store, what); // out of line: see roots.ts `unrooted`
  return core;
}

function notAHandle(raw: unknown): never {
  throw new InvalidHandleError(raw, 'expected a u32 handle, or the i32 with the same bits');
}

function notAStore(store: unknown, what: string): never {
  throw new TypeError(`${what}: expected a Store, received ${describe(store)}`);
}

/** A copy of `value` that will travel to the coordinator, or ERR_NOT_CLONEABLE. */
function cloneForHeap(value: unknown, what: string): unknown {
  return heapCopy(value, what, BUILD_IN_PLACE);
}

/** A root entry for a new value in reserved slot `index`; on failure the slot goes back to the batch. */
function entryFor(core: StoreCore, index: SlotIndex, what: string): number {
  try {
    return core.allocEntry(what);
  } catch (err) {
    core.returnSlot(index);
    throw err;
  }
}

/** A new object holding a copy of `value`, counted in a new entry; returns `[index, handle, entry]`. */
function allocate(core: StoreCore, value: unknown, what: string): [SlotIndex, RawHandle, number] {
  core.ensureOpen(what);
  const copy = cloneForHeap(value, what);
  const index = core.takeSlot();
  if (index < 0) throw new GcHeapOutOfMemory(value, core.slots.capacity);
  const e = entryFor(core, index, what);
  const handle = core.slots.publishNew(index, builtinTagOf(copy), core.region.wordOf(e), core.region.createdWord);
  // The slot's version is the new object's first (it never goes back: see S_VERSION).
  core.cache.set(handle, index, copy, core.slots.version(index));
  core.conn.post(handle, copy);
  return [index, handle, e];
}

/**
 * A construction in place on the coordinator, begun: a reserved slot and an entry for it. `run`
 * asks the coordinator (synchronously or not) and `finish` publishes the slot as a root in the
 * scope current then; `fail` gives the slot and the entry back.
 */
function beginConstruct(core: StoreCore, factory: string, args: unknown[], what: string) {
  if (typeof factory !== 'string')
    throw new TypeError(`${what}: factory must be a string, received ${describe(factory)}`);
  core.ensureOpen(what);
  const sent = args.map((a, i) => heapCopy(a, `${what}(${JSON.stringify(factory)}) argument ${i + 1}`));
  const index = core.takeSlot();
  if (index < 0) throw new GcHeapOutOfMemory<PendingConstruction>({ factory, args }, core.slots.capacity);
  const generation = core.slots.generation(index);
  const e = entryFor(core, index, what);
  return {
    request: [index, generation, factory, sent] as const,
    fail: (err: unknown): never => {
      core.region.free(e);
      if (!core.closed) core.returnSlot(index);
      throw err;
    },
    finish: (tag: number): Rooted => {
      core.ensureOpen(what);
      // Built in place on the coordinator, never posted: its disposer runs there, so never recycled here.
      const handle = core.slots.publishBuilt(index, tag, core.region.wordOf(e), core.region.createdWord);
      return core.scoped(index, handle, e);
    },
  };
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
   *
   * The heap holds a structured clone of `value`, so the root's type is `Cloned<T>`: `T` itself
   * for plain data, and for a class instance its public fields without its methods (build such
   * values in place with `newWith` to call them). A value the clone would refuse, where its type
   * shows it (a function or symbol anywhere, a plain object with a function-valued property), does
   * not compile (`Cloneable`).
   */
  static new<T>(store: Store, value: Cloneable<T>): Rooted<Cloned<T>> {
    const core = coreFor(store, 'ExternRef.new');
    const [index, handle, e] = allocate(core, value, 'ExternRef.new');
    return core.scoped(index, handle, e) as Rooted<Cloned<T>>;
  }

  /** Like `new`, but returns a `ManuallyRooted` that lives until `unroot()`. */
  static newManuallyRooted<T>(store: Store, value: Cloneable<T>): ManuallyRooted<Cloned<T>> {
    const core = coreFor(store, 'ExternRef.newManuallyRooted');
    const [index, handle, e] = allocate(core, value, 'ExternRef.newManuallyRooted');
    return core.manual(index, handle, e) as ManuallyRooted<Cloned<T>>;
  }

  /**
   * Builds a value in place on the coordinator by calling `factory(...args)`, an export of the
   * heap's `hostModule` (Wasmtime's `ExternRef::new` with a value built where it lives). Use it
   * for values that cannot move between threads (files, sockets, class instances); use them
   * through `call`. The new root belongs to the scope that is current when the promise resolves.
   *
   * In TypeScript, a store of a heap made with `Heap.create<typeof import('./host.js')>(…)` takes the
   * module's function exports as `factory`, their parameters as `args`, and gives a root of what
   * the factory returns (`Rooted<HostFile>`); an untyped store takes any name.
   */
  static newWith<H, K extends FactoryName<H>>(
    store: Store<H>,
    factory: K,
    ...args: FactoryArgs<H, K>
  ): Promise<Rooted<InPlace<Built<H, K>>>> {
    try {
      const core = coreFor(store, 'ExternRef.newWith');
      const c = beginConstruct(core, factory, args, 'ExternRef.newWith');
      // The scope is chosen when the root is made: the one current when the promise resolves.
      return core.conn
        .call('construct', ...c.request)
        .then((tag) => c.finish(tag) as Rooted<InPlace<Built<H, K>>>, c.fail);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Like `newWith`, but blocks this thread until the value is built; the root joins the current scope. */
  static newWithSync<H, K extends FactoryName<H>>(
    store: Store<H>,
    factory: K,
    ...args: FactoryArgs<H, K>
  ): Rooted<InPlace<Built<H, K>>> {
    const core = coreFor(store, 'ExternRef.newWithSync');
    const c = beginConstruct(core, factory, args, 'ExternRef.newWithSync');
    let tag: number;
    try {
      tag = core.conn.sync('construct', ...c.request);
    } catch (err) {
      return c.fail(err);
    }
    return c.finish(tag) as Rooted<InPlace<Built<H, K>>>;
  }

  /**
   * A new root for a raw handle, adding a count (Wasmtime's `clone_from_raw`). `raw` is the `u32`,
   * or the `i32` with the same bits (as Wasm and `Int32Array` give it); `0` gives `null`. A forged
   * or stale handle, and anything that is not one of those two forms (a fraction, a number out of
   * range, a string), throws `ERR_INVALID_HANDLE` and changes nothing; a handle never resolves to
   * another object (I1).
   *
   * `T` is an assertion, not a check (Wasmtime's unchecked downcast): the number says which
   * object, never of which type, so `fromRaw<string>` of a handle to a `Map` gives a
   * `Rooted<string>` holding a `Map`. Where the handle may come from anyone, take the default
   * (`unknown`) and narrow with `root.is(Ctor)`.
   */
  static fromRaw<T = unknown>(store: Store, raw: number): Rooted<T> | null {
    const core = coreFor(store, 'ExternRef.fromRaw');
    core.ensureOpen('ExternRef.fromRaw');
    const h = rawHandle(raw);
    if (h <= 0) return h === 0 ? null : notAHandle(raw);
    return core.fromRaw(h) as Rooted<T>;
  }

  /** Like `fromRaw` (`T` asserted alike), but returns a `ManuallyRooted`. */
  static fromRawManuallyRooted<T = unknown>(store: Store, raw: number): ManuallyRooted<T> | null {
    const core = coreFor(store, 'ExternRef.fromRawManuallyRooted');
    core.ensureOpen('ExternRef.fromRawManuallyRooted');
    const h = rawHandle(raw);
    if (h <= 0) return h === 0 ? null : notAHandle(raw);
    return core.fromRawManual(h) as ManuallyRooted<T>;
  }

  /**
   * Takes back the count that `ManuallyRooted#intoRaw()` gave to `raw`, without adding one (the
   * Wasmtime's `from_raw`). Only the store that called `intoRaw` can; `0` gives `null`. Accepts the
   * same forms as `fromRaw`, and changes nothing when it refuses one. `T` is asserted, as in `fromRaw`.
   */
  static fromOwnedRaw<T = unknown>(store: Store, raw: number): ManuallyRooted<T> | null {
    const core = coreFor(store, 'ExternRef.fromOwnedRaw');
    core.ensureOpen('ExternRef.fromOwnedRaw');
    const h = rawHandle(raw);
    if (h <= 0) return h === 0 ? null : notAHandle(raw);
    return core.takeOwnedRaw(h) as ManuallyRooted<T>;
  }

  /** True when `a` and `b` are the same object (identity, not equal data). */
  static ptrEq(a: RootBase, b: RootBase): boolean {
    return a._handle === b._handle && a._core.heapId === b._core.heapId;
  }

  /** A hash of the object's identity (its handle), stable across threads of the heap. */
  static hash(a: RootBase): number {
    let h = Math.imul(a._handle ^ a._core.heapId, 0x9e3779b1);
    h ^= h >>> 16;
    return h >>> 0;
  }

  /** Orders objects by identity (heap, then handle): negative, 0 or positive. */
  static compare(a: RootBase, b: RootBase): number {
    if (a._core.heapId !== b._core.heapId) return a._core.heapId < b._core.heapId ? -1 : 1;
    return a._handle === b._handle ? 0 : a._handle < b._handle ? -1 : 1;
  }
}
