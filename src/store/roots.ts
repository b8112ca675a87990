/**
 * Roots: `Rooted` (owned by a scope), `ManuallyRooted` (owned by the caller until `unroot()`),
 * and `RootScope`.
 *
 * The thread of the root's store only. Every root holds exactly one count on its object and one
 * entry in its store's shared root region (so a dead thread's roots can be released, I4). A root
 * that was released keeps its object's identity (`toRaw` is refused, but `ptrEq` still works on
 * the remembered handle) and answers every other use with `ERR_UNROOTED`; no path releases a
 * count twice (I6). After the store or heap closes, the coordinator has released the counts, so a
 * root only forgets its entry and touches no shared memory.
 *
 * Wasmtime's `Rooted<T>` lives in a LIFO scope; here a scope is a plain list of roots released
 * together, which also works for scopes that end out of order (async code). Rejected: one
 * FinalizationRegistry entry per root as the release mechanism. It costs more than the count
 * itself, and when V8 collects is no contract; explicit scopes and `unroot()` are.
 */
import {
  CrossStoreError,
  InvalidHandleError,
  LeaseReentrantError,
  LeaseTimeoutError,
  NotCloneableError,
  UnrootedError,
} from '../errors';
import { describe } from '../options';
import type { RawHandle, SlotIndex } from '../shared/handle';
import { maybeCoreOf } from '../internal/keys';
import { checkDepth } from '../shared/depth';
import type { StoreCore } from './core';
import type { Store } from './store';
import type {
  DataMutFn,
  DataMutSyncFn,
  DataRoot,
  InstanceOf,
  MethodArgs,
  MethodName,
  MethodResult,
  MutatedAs,
  RootValueType,
  TypeCheck,
} from './types';
import { MISS } from './value-cache';

/**
 * @internal The entry of a borrowed root: a `Rooted` for a reference argument of a host function called
 * from Wasm. It takes no count: the guest's reference (an `ExternRefObject`'s count, or the raw
 * handle's owner) keeps the object alive, and the root re-checks the handle on every use, so an
 * object freed meanwhile is ERR_INVALID_HANDLE, never another object (I1). Anything that needs a
 * count of its own (a clone, a transfer, a result) first takes one (`StoreCore.hold`), and only then
 * joins its scope's list. It ends with the call's scope like any `Rooted`, but by the scope's
 * epoch, not by a release: see `BorrowedRoot`.
 */
export const BORROWED = 0x7fffffff;

/**
 * What every root can do. Not constructed directly: see `ExternRef`. `T` is the type of the value
 * the root's object holds (`unknown` when nothing says: see src/store/types.ts); it exists only in
 * the types, and only as strong as its source (`fromRaw<T>` asserts it unchecked, `is` checks it).
 *
 * How the root classes are built, for speed on V8 11.3 (Node 20): constructing an instance of a
 * derived class (`extends`, `super()`) is not folded into the calling code, and measured 12–25 ns
 * more a root than a class without `extends`, which costs almost nothing once inlined. A host call
 * from Wasm makes one root per reference argument, so this was most of the wasm-import row. So
 * `Rooted`, `ManuallyRooted` and the borrowed root are classes without `extends` that set their own
 * fields; `inherit` puts `RootBase.prototype` (or `Rooted.prototype`) under their prototypes, and
 * an interface of the same name gives them `RootBase`'s members in TypeScript. `instanceof` works
 * as with `extends`.
 */
export abstract class RootBase<T = unknown> {
  /**
   * Makes `T` invariant, so that a root never passes for a root of a wider type, through which a
   * value of another type could be committed (see `RootValueType`). Declared only: no such
   * property exists, and no code names it. The first member, as `RootValueType` explains.
   */
  declare protected readonly valueType?: RootValueType<T>;
  // Declared, not defined: a class field is initialised with define semantics before the
  // constructor runs, which made constructing a root cost 4× a plain object (the clone-drop row).
  /** @internal The core of the root's store. */ declare _core: StoreCore;
  /** @internal */ declare _index: SlotIndex;
  /** @internal */ declare _handle: RawHandle;
  /** @internal Root-region entry, or -1 once released. */
  declare _entry: number;

  /**
   * @internal Throws unless this root is usable (with `store`, if given). On the path of every
   * root operation: its throws are calls to functions of their own (here and in `_recheck`), which
   * keeps its bytecode small enough for V8 to inline the whole of a clone and an unroot into
   * their caller (see `unrooted`).
   */
  _check(what: string, store?: Store): void {
    const e = this._entry;
    if (e < 0 || e === BORROWED) return this._checkOther(what, store);
    if (store !== undefined && store !== this._core.store) crossStore(what);
    this._core.ensureOpen(what);
  }

  /** @internal `_check` for a released or a borrowed root, out of line (same checks, same order). */
  _checkOther(what: string, store?: Store): void {
    if (this._entry < 0 || (this as RootBase as BorrowedRoot)._ended()) unrooted(what);
    if (store !== undefined && store !== this._core.store) crossStore(what);
    this._core.ensureOpen(what);
    this._recheck(what);
  }

  /**
   * @internal A borrowed root holds no count, so its object may be freed at any time: checked on
   * every use (from `_check`), and again after reading a word of the slot, which may then have
   * belonged to the slot's next object (I1). A counted root keeps its slot, so only borrowed ones check.
   */
  _recheck(what: string): void {
    if (this._entry === BORROWED && this._core.slots.liveIndexOf(this._handle) < 0) freedDuringCall(this._handle, what);
  }

  /** @internal Gives back this root's count (once; later calls do nothing). */
  _release(): void {
    const e = this._entry;
    if (e < 0) return;
    this._entry = -1;
    if (e !== BORROWED) this._core.release(this._index, e);
  }

  /** True while this root holds its object. */
  get isRooted(): boolean {
    if (this._entry === BORROWED && (this as RootBase as BorrowedRoot)._ended()) return false;
    return this._entry >= 0 && !this._core.closed;
  }

  /** The store this root belongs to. */
  get store(): Store {
    return this._core.store;
  }

  /**
   * The raw `u32` handle of the object (Wasmtime's `to_raw`/`as_raw`): the same number in every
   * thread of the heap. It adds no count: it stays valid while some root holds the object.
   */
  toRaw(store?: Store): number {
    this._check('toRaw', store);
    // The number may reach another thread at once: post this store's queued values first, so
    // a reader there never waits on a value still queued here.
    this._core.flushPosts();
    return this._handle;
  }

  /** The object's reference count now (sequentially consistent load, as Wasmtime's `ExternRef::strong_count`). */
  strongCount(store?: Store): number {
    this._check('strongCount', store);
    const count = this._core.slots.count(this._index);
    this._recheck('strongCount');
    return count;
  }

  /**
   * The value's `typeof`, or for objects its constructor's name (`'Object'`, `'Map'`, a class name for values built in
   * place). No round trip.
   */
  typeOf(store?: Store): string {
    this._check('typeOf', store);
    const tag = this._core.slots.tag(this._index);
    this._recheck('typeOf');
    return this._core.types.name(tag);
  }

  /**
   * True when the value is of class `ctor`, by its name as `typeOf()` reads it (no round trip):
   * `is(Map)` for a `Map`, `is(HostFile)` for a value a factory built as a `HostFile`, `is(String)`
   * for a string (and `Number`, `Boolean`, `BigInt` for the other primitives), `is(Object)` for a
   * plain object. The exact class, not a base class; and by name, since a value built in place is
   * an instance of the coordinator thread's copy of its class, never of the caller's. A class
   * instance given to `ExternRef.new` is a plain object in the heap: `is(Object)`. In TypeScript,
   * `true` narrows an untyped root to that type (`Rooted<Map<unknown, unknown>>`): the checked way
   * to type a root that `fromRaw`, a table or an untyped task gave. A typed root keeps its type
   * (its `data()` still gives a `T`): roots are invariant in their type (see `RootValueType`), so a
   * `Rooted<string | number>` that holds a string is no `Rooted<string>`, since another root of it
   * may still commit a number. Narrow the value it reads instead.
   */
  is(ctor: TypeCheck, store?: Store): boolean {
    this._check('is', store);
    if (typeof ctor !== 'function') throw new TypeError(`is: expected a class, received ${describe(ctor)}`);
    const tag = this._core.slots.tag(this._index);
    this._recheck('is');
    return this._core.types.name(tag) === (PRIMITIVE_NAMES.get(ctor) ?? ctor.name);
  }

  /**
   * The value (a copy local to this thread), from the store's cache when it is current, else
   * from the coordinator. Treat it as read-only; change the object with `dataMut`.
   */
  data(this: RootBase<T> & DataRoot<T>, store?: Store): Promise<T> {
    try {
      this._check('data', store);
    } catch (err) {
      return Promise.reject(err);
    }
    // The version is read before the request goes out, so the reply need not carry it: the
    // value the coordinator answers with is at least as new as this version (it bumps a version
    // only after the new value is in place), so the cache may hold a newer value under an older
    // version, which costs one more read later, and never an older one.
    const s = this._core;
    const handle = this._handle;
    const index = this._index;
    const version = s.slots.version(index);
    const hit = s.cache.get(handle, index, version);
    if (hit !== MISS) return Promise.resolve(hit as T);
    return s.conn.call('read', handle).then((value) => s.remember(handle, index, value, version) as T);
  }

  /** Like `data()`, but blocks this thread until the coordinator answers (no wait if cached). */
  dataSync(this: RootBase<T> & DataRoot<T>, store?: Store): T {
    this._check('dataSync', store);
    const s = this._core;
    const handle = this._handle;
    const index = this._index;
    const version = s.slots.version(index); // before the request: see `data`
    const hit = s.cache.get(handle, index, version);
    if (hit !== MISS) return hit as T;
    return s.remember(handle, index, s.conn.sync('read', handle), version) as T;
  }

  /**
   * Exclusive read-modify-write. `fn` runs on this thread over a copy of the value; its return
   * value (or, if it returns `undefined`, the copy it changed) is committed as the new value.
   * Every mutation of one object (`dataMut`, `dataMutSync`, `call`, `callSync`, from any thread) is
   * serialized with every other. Resolves with the new value; the caller may keep and change it,
   * since this thread's cache keeps a copy of its own.
   *
   * In TypeScript `fn` works on the root's own type `T` and returns a `T` (see `DataMutFn`): at
   * run time any cloneable value is committed, but a root's type cannot change after the fact, so
   * a new type is a new object (`ExternRef.new`). Only an untyped root takes a type argument:
   * `dataMut<U>` asserts its value's type without a check, as `fromRaw<U>` does.
   */
  async dataMut<U = T>(this: RootBase<T> & DataRoot<T>, fn: DataMutFn<T, U>, store?: Store): Promise<MutatedAs<T, U>> {
    this._check('dataMut', store);
    const s = this._core;
    const handle = this._handle;
    const conn = s.conn;
    leaseEnter(s.leasing, handle);
    try {
      const grant = await conn.call('acquire', handle);
      let next: unknown;
      let copy: unknown;
      try {
        const r = await underLease(s, handle, (fn as (value: unknown) => unknown)(grant.value));
        next = r === undefined ? grant.value : r;
        copy = heapCopy(next, 'dataMut'); // this thread's cached copy, and the commit
      } catch (err) {
        // A lease that expired while fn ran is the coordinator's to end (and count): no abandon.
        if (!expiredHere.has(err as object)) void conn.call('abandon', grant.lease).catch(() => undefined);
        throw err;
      }
      const version = await conn.call('commit', grant.lease, copy).catch((err: unknown) => {
        throw leaseLost(err, handle);
      });
      s.cache.set(handle, this._index, copy, version);
      return next as MutatedAs<T, U>;
    } finally {
      leaseLeave(s.leasing, handle);
    }
  }

  /**
   * Like `dataMut`, but synchronous: `fn` must not return a promise. Inside the `fn` of a
   * mutation of the same object on this thread (or while an async `dataMut` of it is in flight
   * here), it throws `ERR_LEASE_REENTRANT` at once: it could only wait for a lease its own thread
   * holds.
   */
  dataMutSync<U = T>(this: RootBase<T> & DataRoot<T>, fn: DataMutSyncFn<T, U>, store?: Store): MutatedAs<T, U> {
    this._check('dataMutSync', store);
    const s = this._core;
    const handle = this._handle;
    if (s.leasing.has(handle)) reentrant('dataMutSync');
    const conn = s.conn;
    leaseEnter(s.leasing, handle);
    try {
      const grant = conn.sync('acquire', handle);
      let next: unknown;
      let copy: unknown;
      try {
        const r = (fn as (value: unknown) => unknown)(grant.value);
        if (r instanceof Promise)
          throw new TypeError('dataMutSync: fn returned a promise; use dataMut for async functions');
        next = r === undefined ? grant.value : r;
        copy = heapCopy(next, 'dataMutSync');
      } catch (err) {
        conn.sync('abandon', grant.lease);
        throw err;
      }
      let version: number;
      try {
        version = conn.sync('commit', grant.lease, copy);
      } catch (err) {
        throw leaseLost(err, handle);
      }
      s.cache.set(handle, this._index, copy, version);
      return next as MutatedAs<T, U>;
    } finally {
      leaseLeave(s.leasing, handle);
    }
  }

  /**
   * Calls `method` on the value on the coordinator (actor semantics: one mutation at a time per
   * object, serialized with `dataMut`) and resolves with its (structured-cloned) result. This is
   * how values built in place by `ExternRef.newWith` are used. The method must be the value's own
   * or its class's (names every object inherits, such as `toString`, are not methods:
   * `ERR_NO_SUCH_METHOD`); arguments must be cloneable (`ERR_NOT_CLONEABLE`). A method that does
   * not settle within the heap's `userCodeTimeoutMs` fails the call with `ERR_CALL_TIMEOUT`.
   *
   * In TypeScript `method` is one of `T`'s methods, `args` its parameters, and the result its
   * result, awaited and structured-cloned (`Cloned<R>`); an untyped root takes any name.
   */
  call<K extends MethodName<T>>(method: K, ...args: MethodArgs<T, K>): Promise<MethodResult<T, K>> {
    let sent: unknown[];
    try {
      this._check('call');
      sent = checkArgs(method, args);
    } catch (err) {
      return Promise.reject(err);
    }
    return this._core.conn.call('call', this._handle, method, sent) as Promise<MethodResult<T, K>>;
  }

  /**
   * Like `call`, but blocks this thread until the coordinator answers. Inside a mutation of the
   * same object on this thread it throws `ERR_LEASE_REENTRANT` at once (see `dataMutSync`).
   */
  callSync<K extends MethodName<T>>(method: K, ...args: MethodArgs<T, K>): MethodResult<T, K> {
    this._check('callSync');
    if (this._core.leasing.has(this._handle)) reentrant('callSync');
    const sent = checkArgs(method, args);
    return this._core.conn.sync('call', this._handle, method, sent) as MethodResult<T, K>;
  }
}

/*
 * The throws of the hot paths, as functions of their own. V8 (TurboFan, Node 20) inlines a call
 * only while the inlined bytecode of the whole function stays under a budget (~920 bytes), and a
 * `throw new X(`…`)` in place counts against it. With the throws in place, `clone().unroot()`
 * ran out of budget before the drop side and measured 30–46 ns; with a larger budget (a V8
 * flag) 25–26 ns. These functions are never on the fast path.
 */
function unrooted(what: string): never {
  throw new UnrootedError(what);
}

function crossStore(what: string): never {
  throw new CrossStoreError(what);
}

function freedDuringCall(handle: number, what: string): never {
  throw new InvalidHandleError(handle, `${what}: the object a borrowed argument named was freed during the call`);
}

function reentrant(what: string): never {
  throw new LeaseReentrantError(what);
}

/** The names `typeOf()` gives primitives, by the constructor `is` receives for them. */
const PRIMITIVE_NAMES = new Map<unknown, string>([
  [String, 'string'],
  [Number, 'number'],
  [Boolean, 'boolean'],
  [BigInt, 'bigint'],
]);

/** Counts a lease this thread holds or waits for on `handle` (see `StoreCore.leasing`). */
function leaseEnter(leasing: Map<number, number>, handle: number): void {
  leasing.set(handle, (leasing.get(handle) ?? 0) + 1);
}

function leaseLeave(leasing: Map<number, number>, handle: number): void {
  const n = leasing.get(handle)! - 1;
  if (n === 0) leasing.delete(handle);
  else leasing.set(handle, n);
}

/**
 * What an async `dataMut` fn gave, awaited for as long as its lease lasts: once `leaseTimeoutMs`
 * has passed the coordinator has broken the lease, so the caller gets `ERR_LEASE_TIMEOUT` then
 * instead of waiting on a fn that may never settle (I8); if the store's pending work fails first
 * (the heap closing, the store closing, the coordinator gone: told by `onFail`, or seen in shared
 * memory within 50 ms), that error.
 */
function underLease<R>(s: StoreCore, handle: RawHandle, work: R | PromiseLike<R>): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const ms = s.options.leaseTimeoutMs;
    const settle = (): void => {
      clearTimeout(timer);
      clearInterval(poll);
      off();
    };
    const timer = setTimeout(() => {
      settle();
      const err = new LeaseTimeoutError(`the lease on handle ${hex(handle)} expired after ${ms} ms while fn ran`);
      expiredHere.add(err);
      reject(err);
    }, ms);
    const off = s.onFail((err) => {
      settle();
      reject(err);
    });
    // A worker's store hears of the heap's close only through shared memory: look every 50 ms.
    const poll = setInterval(() => {
      try {
        s.ensureOpen('dataMut');
      } catch (err) {
        settle();
        reject(err);
      }
    }, 50);
    poll.unref();
    Promise.resolve(work).then(
      (v) => {
        settle();
        resolve(v);
      },
      (err: unknown) => {
        settle();
        reject(err);
      },
    );
  });
}

/** The errors `underLease` made: a lease that ran out while fn ran. */
const expiredHere = new WeakSet<object>();

/** A commit's `ERR_LEASE_TIMEOUT` (which the coordinator can only say by lease number) naming the handle. */
function leaseLost(err: unknown, handle: RawHandle): unknown {
  if (!(err instanceof LeaseTimeoutError)) return err;
  return new LeaseTimeoutError(`the lease on handle ${hex(handle)} expired or was broken before the commit`);
}

function hex(handle: number): string {
  return `0x${(handle >>> 0).toString(16)}`;
}

/**
 * @internal Checks a value about to be copied into the heap or sent to the coordinator: no root
 * inside it (a structured clone would copy the root as a plain object holding its store's
 * internals; a value refers to another by its raw handle), and no deeper than shared/depth.ts
 * allows. Throws `ERR_NOT_CLONEABLE` naming `what`.
 */
export function checkHeapValue(value: unknown, what: string): void {
  if (value instanceof RootBase) rootInside(what);
  checkDepth(value, what, (x) => (x instanceof RootBase ? rootInside(what) : false));
}

function rootInside(what: string): never {
  throw new NotCloneableError(
    what,
    new TypeError('a root inside a value would be copied as a plain object'),
    'keep the root beside the value, or store its raw handle (toRaw)',
  );
}

/** A method name must be a string; an argument that is a function or symbol is named before it is posted. */
function checkArgs(method: unknown, args: readonly unknown[]): unknown[] {
  if (typeof method !== 'string')
    throw new TypeError(`call: the method name must be a string, received ${describe(method)}`);
  for (let i = 0; i < args.length; i++) {
    const t = typeof args[i];
    if (t === 'function' || t === 'symbol') {
      throw new NotCloneableError(
        `call(${JSON.stringify(method)}) argument ${i + 1}`,
        new TypeError(`a ${t} cannot be cloned`),
      );
    }
  }
  return args.map((a, i) => heapCopy(a, `call(${JSON.stringify(method)}) argument ${i + 1}`));
}

/**
 * @internal What a value entering the heap or sent to the coordinator (`new`, a commit, `call` and
 * `newWith` arguments) travels as: a primitive as it is; an object checked (`checkHeapValue`),
 * structured-cloned, and the copy checked for depth, so that what a getter answers the second
 * time is what was checked. `ERR_NOT_CLONEABLE` naming `what` (with `hint`) otherwise.
 */
export function heapCopy(value: unknown, what: string, hint = ''): unknown {
  const t = typeof value;
  if (t === 'function' || t === 'symbol')
    throw new NotCloneableError(what, new TypeError(`a ${t} cannot be cloned`), hint);
  if (t !== 'object' || value === null) return value; // primitives are immutable: no copy needed
  checkHeapValue(value, what);
  let copy: unknown;
  try {
    copy = structuredClone(value);
  } catch (err) {
    throw new NotCloneableError(what, err, hint);
  }
  checkDepth(copy, what);
  return copy;
}

/**
 * A root owned by a scope: released when its scope ends (`store.scope(fn)` or a `RootScope`);
 * one made outside any scope belongs to the store until the store or heap closes.
 */
// The interface gives the class RootBase's members, which it gets through its prototype (see RootBase).
export interface Rooted<T = unknown> extends RootBase<T> {
  /** See `RootBase#is`; `true` narrows an untyped root to `Rooted` of that type. */
  is<C extends TypeCheck>(ctor: C, store?: Store): this is Rooted<InstanceOf<C>>;
}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see RootBase
export class Rooted<T = unknown> {
  /** @internal */
  constructor(core: StoreCore, index: SlotIndex, handle: RawHandle, entry: number) {
    this._core = core;
    this._index = index;
    this._handle = handle;
    this._entry = entry;
  }

  /** A new manual root of the same object (one more count); this root stays valid. */
  toManuallyRooted(): ManuallyRooted<T> {
    this._check('toManuallyRooted');
    return this._core.toManual(this) as ManuallyRooted<T>;
  }
}

/**
 * @internal A borrowed root (see `BORROWED`): it belongs to the host call whose scope made it,
 * and ends when that scope closes. The linker reuses one scope per import from call to call, so
 * the root remembers the scope's epoch at its making, and ends once the epoch moves on. That way
 * a call's borrowed arguments are neither listed in the scope nor released one by one, which
 * made them cost more than the rest of the call (the wasm-import row). One that took a count
 * (`StoreCore.hold`) is listed and released like any `Rooted`.
 */
// The interface gives the class RootBase's members, which it gets through its prototype (see RootBase).
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
/** @internal */ export interface BorrowedRoot extends Rooted {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see RootBase
/** @internal */ export class BorrowedRoot {
  /** @internal */ declare _scope: RootScope;
  /** @internal The scope's epoch when this root was made. */
  declare _epoch: number;

  /** @internal Use `StoreCore.borrow`. */
  constructor(core: StoreCore, index: SlotIndex, handle: RawHandle, scope: RootScope) {
    this._core = core;
    this._index = index;
    this._handle = handle;
    this._entry = BORROWED;
    this._scope = scope;
    this._epoch = scope._epoch;
  }

  /** @internal Whether the call this root belongs to has returned. */
  _ended(): boolean {
    return this._epoch !== this._scope._epoch;
  }
}

/** A root owned by the caller: it holds its object until `unroot()` (or the store closes). */
// The interface gives the class RootBase's members, which it gets through its prototype (see RootBase).
export interface ManuallyRooted<T = unknown> extends RootBase<T> {
  /** See `RootBase#is`; `true` narrows an untyped root to `ManuallyRooted` of that type. */
  is<C extends TypeCheck>(ctor: C, store?: Store): this is ManuallyRooted<InstanceOf<C>>;
}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see RootBase
export class ManuallyRooted<T = unknown> {
  /** @internal */
  constructor(core: StoreCore, index: SlotIndex, handle: RawHandle, entry: number) {
    this._core = core;
    this._index = index;
    this._handle = handle;
    this._entry = entry;
  }

  /** Gives back this root's count. A second call throws `ERR_UNROOTED` and changes nothing. */
  unroot(): void {
    if (this._entry < 0) unrooted('unroot');
    this._release(); // after the store or heap closed this only forgets the entry
  }

  /** A new manual root of the same object (one more count). */
  clone(): ManuallyRooted<T> {
    this._check('clone');
    return this._core.cloneManual(this) as ManuallyRooted<T>;
  }

  /** A new scoped root of the same object in the current scope; this manual root stays valid. */
  toRooted(): Rooted<T> {
    this._check('toRooted');
    return this._core.toScoped(this) as Rooted<T>;
  }

  /**
   * Gives up this root and returns the raw handle that now owns its count (Wasmtime's
   * `into_raw`). Take the count back with `ExternRef.fromOwnedRaw` on the same store; until
   * then the count still belongs to this store, so it is released if the thread dies (I4).
   */
  intoRaw(): number {
    this._check('intoRaw');
    const e = this._entry;
    this._entry = -1;
    this._core.keepOwnedRaw(this._handle, e);
    // The number may reach another thread at once (as with `toRaw`): post queued values first.
    this._core.flushPosts();
    return this._handle;
  }
}

/** `cls` inherits `base`'s methods, as with `extends` (see `RootBase` for why not `extends`). */
function inherit(cls: abstract new (...a: never[]) => unknown, base: abstract new (...a: never[]) => unknown): void {
  Object.setPrototypeOf(cls.prototype, base.prototype);
}
inherit(Rooted, RootBase);
inherit(BorrowedRoot, Rooted);
inherit(ManuallyRooted, RootBase);

/**
 * A scope that owns the `Rooted` roots created while it is current, and releases them when it
 * is disposed. Works with `using`: `using scope = new RootScope(store);`. For async code prefer
 * `store.scope(async () => …)`, which follows the code across `await`.
 */
export class RootScope implements Disposable {
  // Declared and assigned in the constructor, not class fields: see RootBase (Wasm host calls
  // open a scope per call).
  /** The store whose roots this scope owns. */
  declare readonly store: Store;
  /** @internal The core of that store. */ declare _core: StoreCore;
  /** @internal */ declare _roots: RootBase[];
  /** @internal The async context this scope was entered in. */
  declare _ctx: unknown;
  /** @internal The async scope (of any store) around the one this scope was entered in, if any. */
  declare _outer: RootScope | undefined;
  /** @internal */ declare _open: boolean;
  /** @internal How many times this scope has closed: ends its borrowed roots (`BorrowedRoot`). */
  declare _epoch: number;

  /** Opens a scope on `store`; it is current until disposed. */
  constructor(store: Store) {
    const core = maybeCoreOf(store);
    if (core === undefined) throw new TypeError(`new RootScope: expected a Store, received ${describe(store)}`);
    this.store = store;
    this._core = core;
    this._roots = [];
    this._open = true;
    this._epoch = 0;
    this._ctx = core.enterScope(this);
  }

  /** @internal A store's own scope, for roots made outside any scope: never entered, never closed. */
  static _detached(core: StoreCore): RootScope {
    const s = Object.create(RootScope.prototype) as RootScope;
    Object.assign(s, { store: core.store, _core: core, _roots: [], _ctx: undefined, _open: true, _epoch: 0 });
    return s;
  }

  /** Roots this scope holds now (a host call's borrowed arguments count once they take a count). */
  get size(): number {
    return this._roots.length;
  }

  /** Releases every root of this scope; idempotent. */
  close(): void {
    if (!this._open) return;
    this._open = false;
    this._epoch++;
    this._core.leaveScope(this);
    // Last in, first out; the array is kept for reuse (`roots.length = 0` is a slow builtin).
    const roots = this._roots;
    while (roots.length > 0) roots.pop()!._release();
  }

  /** @internal Opens this closed scope again: the linker reuses one scope per import between calls. */
  _reopen(): void {
    this._open = true;
    this._ctx = this._core.enterScope(this);
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
