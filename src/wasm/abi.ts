/**
 * The two Wasm ABIs: converting between roots and what a guest holds.
 *
 * The thread of the linker's store.
 * - Native ABI (`externref` in the signature): the guest holds an opaque `ExternRefObject`. Each
 *   object holds one count of its own (recorded in the store's region like any root). V8 decides
 *   when the guest has dropped it: when V8 collects the object, a `FinalizationRegistry` gives the
 *   count back. Closing the store gives it back too. One object per handle is kept while alive
 *   (a `WeakRef` map), so passing the same reference in again costs no new count.
 * - Raw ABI (`handle` in the signature, `i32` in the module): the guest holds the raw handle. It
 *   is valid for the call. To keep one longer, the guest takes a count with `sharedref.clone`.
 *
 * Rejected for the native ABI: releasing a guest's count when the call returns, as the raw ABI
 * does. A guest may keep a reference in a table or a global, and only V8 can see that.
 */
import { CrossStoreError, InvalidHandleError } from '../errors';
import type { RawHandle, SlotIndex } from '../shared/handle';
import { describe } from '../options';
import { RootBase, type RootScope, type Rooted } from '../store/roots';
import type { Store } from '../store/store';
import { type StoreCore, checkRoot, maybeCoreOf, rootCore, rootHandle, rootIndex } from '../store/internal';
import type { FuncType, WasmValType } from './binary-types';
import type { CallFrames } from './call-frames';

/** The value types a signature may name. */
export const VAL_TYPES = ['i32', 'i64', 'f32', 'f64', 'externref', 'funcref', 'handle'] as const;
/**
 * One value type. `handle` is an `i32` in the module and a root (or `null`) on the host side;
 * `funcref` is a Wasm function (an export of some instance) or `null`.
 * @useDeclaredType
 */
export type ValType = (typeof VAL_TYPES)[number];

/** @internal The module's value type that a signature's `t` stands for (`handle` is an `i32`). */
export function wasmTypeOf(t: ValType): WasmValType {
  return t === 'handle' ? 'i32' : t;
}

/** @internal Whether the host signature `sig` matches the module's function type `ft`. */
export function signatureMatches(sig: Signature, ft: FuncType): boolean {
  const same = (a: readonly ValType[], b: readonly WasmValType[]): boolean =>
    a.length === b.length && a.every((t, i) => wasmTypeOf(t) === b[i]);
  return same(sig.params, ft.params) && same(sig.results, ft.results);
}

/** A function signature over `ValType`s. */
export interface Signature {
  /** The parameter types, in order. */
  readonly params: readonly ValType[];
  /** The result types, in order (several results travel as an array). */
  readonly results: readonly ValType[];
}

/** @internal Throws a `TypeError` naming the problem unless `sig` is a valid signature. */
export function checkSignature(sig: unknown, what: string): Signature {
  if (typeof sig !== 'object' || sig === null)
    throw new TypeError(`${what}: signature must be { params: [...], results: [...] }`);
  const { params, results } = sig as Partial<Signature>;
  for (const [name, list] of [
    ['params', params],
    ['results', results],
  ] as const) {
    if (!Array.isArray(list))
      throw new TypeError(`${what}: signature.${name} must be an array of ${VAL_TYPES.join(', ')}`);
    for (const t of list) {
      if (!(VAL_TYPES as readonly unknown[]).includes(t)) {
        throw new TypeError(
          `${what}: signature.${name} has ${JSON.stringify(t)}; expected one of ${VAL_TYPES.join(', ')}`,
        );
      }
    }
  }
  return sig as Signature;
}

/**
 * The key that `ExternRefObject`'s constructor requires: only this module has it, so no other
 * code can make an object whose handle, slot and count it chose (one made with a handle and the
 * slot of another object once borrowed one object and released another).
 */
const kMake: unique symbol = Symbol('sharedref.ExternRefObject');

/** What a guest holds for an `externref` under the native ABI. Opaque: nothing to read. */
export class ExternRefObject {
  readonly #handle: RawHandle;
  readonly #index: SlotIndex;
  readonly #heapId: number;

  /** @internal */
  constructor(key: typeof kMake, handle: RawHandle, index: SlotIndex, heapId: number) {
    if (key !== kMake) {
      throw new TypeError(
        'ExternRefObject cannot be constructed: use ExternRefObject.fromRoot(root), or pass roots to typed functions',
      );
    }
    this.#handle = handle;
    this.#index = index;
    this.#heapId = heapId;
    Object.freeze(this);
  }

  /** @internal The object, if `x` is a genuine object of heap `heapId`. */
  static #checked(x: unknown, heapId: number): ExternRefObject {
    if (x instanceof RootBase) bareRoot(x);
    if (typeof x !== 'object' || x === null || !(#handle in x))
      throw new InvalidHandleError(0, 'the externref is not a sharedref reference');
    const o = x as ExternRefObject;
    if (o.#heapId !== heapId) throw new CrossStoreError('externref');
    return o;
  }

  /** @internal The handle, if `x` is a genuine object of heap `heapId`. */
  static handleOf(x: unknown, heapId: number): number {
    return ExternRefObject.#checked(x, heapId).#handle;
  }

  /** @internal Whether `x` is a guest object (of any heap). */
  static is(x: unknown): x is ExternRefObject {
    return typeof x === 'object' && x !== null && #handle in x;
  }

  /**
   * The Wasm reference for `root`, to hand to code that calls a guest's exports itself
   * (third-party glue, `instance.exports`): `null` for `null`. The object holds a count of its own
   * until V8 collects it or the store closes, as every reference given to a guest does.
   */
  static fromRoot(root: RootBase | null): ExternRefObject | null {
    if (root === null || root === undefined) return null;
    if (!(root instanceof RootBase))
      throw new TypeError(`ExternRefObject.fromRoot: expected a root or null, received ${describe(root)}`);
    checkRoot(root, 'ExternRefObject.fromRoot');
    return exposureOf(rootCore(root)).wrap(root);
  }

  /**
   * A new root in the current scope of `store` for the Wasm reference `x` (one more count), or
   * `null` for a null reference: for what glue code gets back from a guest's exports.
   */
  static toRooted(store: Store, x: unknown): Rooted | null {
    const core = maybeCoreOf(store);
    if (core === undefined) {
      throw new TypeError(`ExternRefObject.toRooted: expected a Store, received ${describe(store)}`);
    }
    if (x === null || x === undefined) return null;
    core.ensureOpen('ExternRefObject.toRooted');
    return core.fromRaw(ExternRefObject.handleOf(x, core.heapId));
  }

  /**
   * @internal A host call's argument `x` as a borrowed root in `scope`. No kernel validation at
   * the call: a genuine object holds a count until V8 collects it, and its finalizer cannot run
   * during the synchronous call. (A count released by the store's close is caught by the root's
   * own checks, on every use, like any borrowed root.)
   */
  static borrow(x: unknown, core: StoreCore, scope: RootScope): Rooted {
    const o = ExternRefObject.#checked(x, core.heapId);
    return core.borrowLive(o.#index, o.#handle, scope);
  }
}

/** A root where the guest needs its own reference: the root never reaches Wasm as one. */
function bareRoot(x: RootBase): never {
  throw new TypeError(
    `received a bare ${x.constructor.name} where a Wasm reference is required: pass roots through a typed ` +
      'function, Table, Global, or ExternRefObject.fromRoot(root)',
  );
}

interface Held {
  readonly handle: RawHandle;
  readonly index: SlotIndex;
  readonly entry: number;
}

/** The native-ABI objects of one store. */
class Exposure {
  readonly #core: StoreCore;
  readonly #live = new Map<number, WeakRef<ExternRefObject>>();
  readonly #registry: FinalizationRegistry<Held>;

  constructor(core: StoreCore) {
    this.#core = core;
    this.#registry = new FinalizationRegistry((held: Held) => {
      if (this.#live.get(held.handle)?.deref() === undefined) this.#live.delete(held.handle);
      core.release(held.index, held.entry);
    });
  }

  /** The guest's object for `root`'s object (one count per live object). */
  wrap(root: RootBase): ExternRefObject {
    const handle = rootHandle(root);
    const cached = this.#live.get(handle)?.deref();
    if (cached !== undefined) return cached;
    const core = this.#core;
    const index = rootIndex(root);
    const e = core.countEntry(root, 'externref');
    const obj = new ExternRefObject(kMake, handle, index, core.heapId);
    this.#registry.register(obj, { handle, index, entry: e });
    this.#live.set(handle, new WeakRef(obj));
    return obj;
  }
}

const exposures = new WeakMap<StoreCore, Exposure>();

function exposureOf(core: StoreCore): Exposure {
  let x = exposures.get(core);
  if (x === undefined) {
    x = new Exposure(core);
    exposures.set(core, x);
  }
  return x;
}

let probe: WebAssembly.Table | null = null;

/** @internal `v` if it is a Wasm function or null; a `TypeError` naming what arrived otherwise. */
export function funcArg(v: unknown, what: string): unknown {
  if (v === null || v === undefined) return null;
  // Only V8 knows a Wasm function from a JS one: a funcref table accepts nothing else.
  probe ??= new WebAssembly.Table({ element: 'anyfunc', initial: 1 });
  try {
    probe.set(0, v as never);
    probe.set(0, null);
  } catch {
    const got = typeof v === 'function' ? `the JS function ${JSON.stringify(v.name)}` : describe(v);
    throw new TypeError(`${what}: expected a Wasm function (an export of an instance) or null, received ${got}`);
  }
  return v;
}

function rootArg(core: StoreCore, v: unknown, what: string): RootBase {
  if (!(v instanceof RootBase)) throw new TypeError(`${what}: expected a root or null, received ${describe(v)}`);
  if (rootCore(v) !== core) throw new CrossStoreError(what);
  checkRoot(v, what);
  return v;
}

/** @internal Host → guest: a JS value (root or number) as the Wasm value of type `t`. */
export function toWasm(core: StoreCore, t: ValType, v: unknown, what: string): unknown {
  switch (t) {
    case 'externref':
      return v === null || v === undefined ? null : exposureOf(core).wrap(rootArg(core, v, what));
    case 'handle': {
      if (v === null || v === undefined) return 0;
      const root = rootArg(core, v, what);
      // The guest may publish the number to another thread and wait for it there, inside this
      // call: post this store's queued values first, as `toRaw` does.
      core.flushPosts();
      return rootHandle(root) | 0;
    }
    case 'funcref':
      return funcArg(v, what);
    case 'i64':
      return typeof v === 'bigint' ? v : BigInt(v as number);
    default:
      return v;
  }
}

/** @internal
 * Guest → host: a typed call's result `v` of type `t` as a JS value. References become counted
 * roots in `scope` (the caller keeps them). A forged or stale handle throws `ERR_INVALID_HANDLE`.
 */
export function fromWasm(core: StoreCore, t: ValType, v: unknown, scope: RootScope): unknown {
  switch (t) {
    case 'externref':
      return v === null || v === undefined ? null : core.fromRaw(ExternRefObject.handleOf(v, core.heapId), scope);
    case 'handle': {
      const raw = (v as number) >>> 0;
      return raw === 0 ? null : core.fromRaw(raw, scope);
    }
    case 'funcref':
      return v ?? null;
    default:
      return v;
  }
}

/** @internal
 * The converter of a host function's argument of type `t`, chosen once per import (the import
 * call is the hot path of the raw ABI). References become borrowed roots in `scope`: no count,
 * the guest's reference holds the object for the call (see `BORROWED`). A forged or stale
 * handle throws `ERR_INVALID_HANDLE`.
 */
export function argumentFor(core: StoreCore, t: ValType): (v: unknown, scope: RootScope) => unknown {
  switch (t) {
    case 'externref':
      return (v, scope) => (v === null || v === undefined ? null : ExternRefObject.borrow(v, core, scope));
    case 'handle':
      return (v, scope) => (v === 0 ? null : core.borrow((v as number) >>> 0, scope));
    case 'funcref':
      return (v) => v ?? null;
    default:
      return (v) => v;
  }
}

/** @internal
 * A host function's result `v` of type `t` for the guest. A `handle` result's count is kept in the
 * store's current call frame (call-frames.ts) until the typed call returns or the guest drops it:
 * the root's own count when it is the newest root of the import's `scope` (a fresh result, which
 * would end with that scope anyway; `scope` is null where one root may be returned twice, as in
 * several results), else one more. No flush: see "Publishing a handle" in
 * docs/architecture.md.
 */
export function resultToWasm(
  core: StoreCore,
  t: ValType,
  v: unknown,
  scope: RootScope | null,
  frames: CallFrames,
  what: string,
): unknown {
  if (t !== 'handle' || v === null || v === undefined) return toWasm(core, t, v, what);
  const root = rootArg(core, v, what);
  const handle = rootHandle(root);
  const entry = scope === null ? core.countEntry(root, what) : core.takeEntry(root, scope, what);
  frames.keep(rootIndex(root), handle, entry);
  return handle | 0; // an i32: Wasm would read a u32 above 2^31 the same way
}
