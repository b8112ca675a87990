/**
 * `Table` and `Global`: host access to a guest's tables and globals, and host-made ones to import
 * (Wasmtime's `Table` and `Global`).
 *
 * The thread of their store. Each wraps V8's `WebAssembly.Table` / `WebAssembly.Global` (its
 * `wasm`) and converts at the boundary, as a typed function does: a root going in becomes the
 * guest's reference (`externref`: an `ExternRefObject`, which holds a count until V8 collects it),
 * a reference coming out becomes a root in the current scope (one more count). So a table slot or
 * global keeps its object alive exactly as long as the guest's own `table.set` / `global.set`
 * would, and the host never handles the guest's objects.
 *
 * A `handle` global is the raw ABI's counterpart: an `i32` global whose non-zero value owns one
 * count taken the way `sharedref.clone` takes it (owned raw, by this store). `set` takes a count
 * for the new value and gives back the old one's, as a guest does with `clone` and `drop`, so host
 * and guest can both write it.
 *
 * Every argument is checked before anything changes: an index out of range, a bare root where the
 * table or global needs a Wasm reference, a value of the wrong type, a grow past the maximum.
 *
 * Rejected: handing out V8's objects (`instance.exports.table`). Their `get` gives the guest's
 * opaque object, which cannot become a root, and their `set` takes any JS value, a root included,
 * which fails only when the guest uses it.
 */
import { CrossStoreError } from '../errors';
import { describe } from '../options';
import { ExternRef } from '../store/extern-ref';
import { RootBase, type Rooted } from '../store/roots';
import { Store } from '../store/store';
import { checkRoot, coreOf, rootCore } from '../store/internal';
import { ExternRefObject, type ValType, VAL_TYPES, fromWasm, funcArg, toWasm, wasmTypeOf } from './abi';
import type { GlobalType, TableType, WasmRefType } from './binary-types';

/** The largest table V8 makes (`--wasm-max-table-size`). */
const MAX_TABLE_SIZE = 10_000_000;

/** A Wasm function, as a `funcref` table element or global holds it. */
export type WasmFunction = (...args: never[]) => unknown;

/** What an element of a table of `E` is on the host side: a root or a Wasm function, or `null`. */
export type TableValue<E extends WasmRefType> = E extends 'externref' ? Rooted | null : WasmFunction | null;

/**
 * What a global of value type `V` holds on the host side: a root (`externref`, `handle`), a Wasm
 * function (`funcref`) or `null`, a `bigint` (`i64`), or a number.
 */
export type GlobalValue<V extends ValType> = V extends 'externref' | 'handle'
  ? Rooted | null
  : V extends 'funcref'
    ? WasmFunction | null
    : V extends 'i64'
      ? bigint
      : number;

/** What `new Table` takes: `{ element, initial, maximum? }`. */
export interface TableOptions<E extends WasmRefType = WasmRefType> {
  /** `'externref'` (roots) or `'funcref'` (Wasm functions). */
  readonly element: E;
  /** The initial size, in elements. */
  readonly initial: number;
  /** The maximum size; none if omitted. */
  readonly maximum?: number;
}

/** What `new Global` takes: `{ value, mutable? }`. */
export interface GlobalOptions<V extends ValType = ValType> {
  /** The value type, as in a signature (`handle` is an `i32` global that owns a count). */
  readonly value: V;
  /** Whether it can be set (default `false`). */
  readonly mutable?: boolean;
}

function checkIndex(i: unknown, limit: number, what: string, name = 'index'): number {
  if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i > 0xffffffff)
    throw new TypeError(`${what}: ${name} must be an integer from 0 to 2^32-1, received ${describe(i)}`);
  if (i >= limit) throw new RangeError(`${what}: ${name} ${i} is out of bounds (the table has ${limit} elements)`);
  return i;
}

function checkCount(n: unknown, what: string, name: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new TypeError(`${what}: ${name} must be an integer from 0 to 2^32-1, received ${describe(n)}`);
  return n;
}

function checkStore(store: unknown, what: string): Store {
  if (!(store instanceof Store)) throw new TypeError(`${what}: expected a Store, received ${describe(store)}`);
  coreOf(store).ensureOpen(what);
  return store;
}

/**
 * A table of `externref`s or `funcref`s, read and written with roots (or functions) and `null`.
 * `E` is its element type (`new Table(store, { element: 'externref', … })` gives a
 * `Table<'externref'>`, whose `get` returns `Rooted | null`).
 */
export class Table<E extends WasmRefType = WasmRefType> {
  /** The store whose roots this table takes and gives. */
  readonly store: Store;
  /** V8's table (for `linker.define` and glue code). */
  readonly wasm: WebAssembly.Table;
  /** What its elements are. */
  readonly element: E;
  /** Its maximum size, or `null` for none. */
  readonly maximum: number | null;

  /**
   * A new table on `store` with `initial` elements, each `init` (a root, a Wasm function, or
   * `null`, the default).
   */
  constructor(store: Store, options: TableOptions<E>, init: TableValue<E> = null as TableValue<E>) {
    const what = 'new Table';
    checkStore(store, what);
    if (typeof options !== 'object' || options === null)
      throw new TypeError(`${what}: options must be { element, initial, maximum? }, received ${describe(options)}`);
    const { element, initial, maximum } = options;
    if (element !== 'externref' && element !== 'funcref')
      throw new TypeError(`${what}: options.element must be 'externref' or 'funcref', received ${describe(element)}`);
    checkCount(initial, what, 'options.initial');
    if (maximum !== undefined) {
      checkCount(maximum, what, 'options.maximum');
      if (maximum < initial)
        throw new RangeError(`${what}: options.maximum (${maximum}) is below options.initial (${initial})`);
    }
    if (initial > MAX_TABLE_SIZE || (maximum ?? 0) > MAX_TABLE_SIZE)
      throw new RangeError(`${what}: a table has at most ${MAX_TABLE_SIZE} elements, received ${initial}`);
    const v = toWasmRef(store, element, init, what);
    const descriptor = { element: element === 'funcref' ? 'anyfunc' : element, initial } as WebAssembly.TableDescriptor;
    if (maximum !== undefined) descriptor.maximum = maximum;
    this.store = store;
    this.wasm = new WebAssembly.Table(descriptor, v as never);
    this.element = element;
    this.maximum = maximum ?? null;
  }

  /** @internal A guest's table (`instance.getTable`), of the type the module declares. */
  static _of<E extends WasmRefType>(store: Store, wasm: WebAssembly.Table, type: TableType): Table<E> {
    const t = Object.create(Table.prototype) as { -readonly [K in keyof Table<E>]: Table<E>[K] };
    t.store = store;
    t.wasm = wasm;
    t.element = type.element as E;
    t.maximum = type.maximum;
    return t as Table<E>;
  }

  /** Its type, as a module declares one (`initial` is the current size). */
  get type(): TableType {
    return { element: this.element, initial: this.wasm.length, maximum: this.maximum };
  }

  /** The number of elements now. */
  size(): number {
    return this.wasm.length;
  }

  /**
   * Element `i`: a root in the current scope (one more count) or `null` for `externref`; a Wasm
   * function or `null` for `funcref`. `RangeError` past the end.
   */
  get(i: number): TableValue<E> {
    const what = 'Table.get';
    coreOf(this.store).ensureOpen(what);
    checkIndex(i, this.wasm.length, what);
    return fromWasmRef(this.store, this.element, this.wasm.get(i), what) as TableValue<E>;
  }

  /** Sets element `i` to `value` (a root or `null`; for `funcref`, a Wasm function or `null`). */
  set(i: number, value: TableValue<E>): void {
    const what = 'Table.set';
    coreOf(this.store).ensureOpen(what);
    checkIndex(i, this.wasm.length, what);
    this.wasm.set(i, toWasmRef(this.store, this.element, value, what) as never);
  }

  /**
   * Adds `delta` elements, each `init` (default `null`), and returns the previous size.
   * `RangeError`, and no change, past the maximum.
   */
  grow(delta: number, init: TableValue<E> = null as TableValue<E>): number {
    const what = 'Table.grow';
    coreOf(this.store).ensureOpen(what);
    checkCount(delta, what, 'delta');
    const size = this.wasm.length;
    const limit = Math.min(this.maximum ?? MAX_TABLE_SIZE, MAX_TABLE_SIZE);
    if (size + delta > limit)
      throw new RangeError(`${what}: cannot grow from ${size} by ${delta} elements (the maximum is ${limit})`);
    const v = toWasmRef(this.store, this.element, init, what);
    return this.wasm.grow(delta, v as never);
  }

  /** See `copyTable`. */
  static copy<T extends WasmRefType>(
    dst: Table<T>,
    dstIndex: number,
    src: Table<T>,
    srcIndex: number,
    n: number,
  ): void {
    copyTable(dst, dstIndex, src, srcIndex, n);
  }

  /** Sets `n` elements from `start` to `value`. `RangeError`, and no change, past the end. */
  fill(start: number, value: TableValue<E>, n: number): void {
    const what = 'Table.fill';
    coreOf(this.store).ensureOpen(what);
    const size = this.wasm.length;
    checkCount(start, what, 'start');
    checkCount(n, what, 'n');
    if (start + n > size)
      throw new RangeError(`${what}: elements ${start} to ${start + n - 1} are out of bounds (the table has ${size})`);
    const v = toWasmRef(this.store, this.element, value, what);
    for (let i = start; i < start + n; i++) this.wasm.set(i, v as never);
  }
}

/**
 * Copies `n` elements of `src` from `srcIndex` to `dst` at `dstIndex` (Wasmtime's `Table::copy`;
 * overlapping ranges of one table copy as if through a buffer). Both tables must hold the same
 * element type and belong to the same store; `RangeError`, and no change, past either end.
 */
export function copyTable<T extends WasmRefType>(
  dst: Table<T>,
  dstIndex: number,
  src: Table<T>,
  srcIndex: number,
  n: number,
): void {
  const what = 'Table.copy';
  if (!(dst instanceof Table) || !(src instanceof Table))
    throw new TypeError(`${what}: expected two Tables, received ${describe(dst)} and ${describe(src)}`);
  if (dst.store !== src.store) throw new CrossStoreError(what, 'the tables belong to different stores');
  coreOf(dst.store).ensureOpen(what);
  if (dst.element !== src.element) {
    throw new TypeError(
      `${what}: type mismatch: the source holds ${src.element} but the destination holds ${dst.element}`,
    );
  }
  checkCount(dstIndex, what, 'dstIndex');
  checkCount(srcIndex, what, 'srcIndex');
  checkCount(n, what, 'n');
  for (const [t, at, name] of [
    [src, srcIndex, 'source'],
    [dst, dstIndex, 'destination'],
  ] as const) {
    if (at + n > t.wasm.length) {
      throw new RangeError(
        `${what}: ${name} elements ${at} to ${at + n - 1} are out of bounds (the table has ${t.wasm.length})`,
      );
    }
  }
  // The guest objects move as they are: each already holds its count (see abi.ts).
  const values = Array.from({ length: n }, (_, i) => src.wasm.get(srcIndex + i) as unknown);
  for (let i = 0; i < n; i++) dst.wasm.set(dstIndex + i, values[i] as never);
}

/** A root / function / null as the table's element (one guest object per object, see abi.ts). */
function toWasmRef(store: Store, element: WasmRefType, v: unknown, what: string): unknown {
  if (element === 'funcref') return funcArg(v, what);
  if (v !== null && v !== undefined && !(v instanceof RootBase)) {
    const why = ExternRefObject.is(v) ? ' (a guest object: take a root of it with ExternRefObject.toRooted)' : '';
    throw new TypeError(`${what}: expected a root or null, received ${describe(v)}${why}`);
  }
  const core = coreOf(store);
  if (v instanceof RootBase && rootCore(v) !== core) throw new CrossStoreError(what);
  return toWasm(core, 'externref', v, what);
}

function fromWasmRef(store: Store, element: WasmRefType, v: unknown, what: string): unknown {
  if (element === 'funcref') return v ?? null;
  // A table made by JS code without an initial value holds `undefined`: empty, like null.
  if (v === undefined || v === null) return null;
  void what;
  const core = coreOf(store);
  return fromWasm(core, 'externref', v, core.currentScope());
}

/**
 * A global, read and written with roots (or functions, or numbers) and `null`. `V` is its value
 * type (`new Global(store, { value: 'externref', … })` gives a `Global<'externref'>`, whose `get`
 * returns `Rooted | null`).
 */
export class Global<V extends ValType = ValType> {
  /** The store whose roots this global takes and gives. */
  readonly store: Store;
  /** V8's global (for `linker.define` and glue code). */
  readonly wasm: WebAssembly.Global;
  /** Its value type, as in a signature (`handle` for an `i32` that owns a count). */
  readonly value: V;
  /** Whether it can be set. */
  readonly mutable: boolean;

  /**
   * A new global on `store` of type `{ value, mutable }`, holding `init` (a root or `null` for
   * `externref` and `handle`, a Wasm function or `null` for `funcref`, a number, or a `BigInt`
   * for `i64`). A `handle` global's non-zero value owns one count (see the file's doc).
   */
  constructor(store: Store, options: GlobalOptions<V>, init?: GlobalValue<V>) {
    const what = 'new Global';
    checkStore(store, what);
    if (typeof options !== 'object' || options === null)
      throw new TypeError(`${what}: options must be { value, mutable? }, received ${describe(options)}`);
    const { value, mutable = false } = options;
    if (!(VAL_TYPES as readonly unknown[]).includes(value))
      throw new TypeError(`${what}: options.value must be one of ${VAL_TYPES.join(', ')}, received ${describe(value)}`);
    if (typeof mutable !== 'boolean')
      throw new TypeError(`${what}: options.mutable must be a boolean, received ${describe(mutable)}`);
    const start = toGlobalValue(store, value, init ?? defaultOf(value), what);
    const descriptor = { value: value === 'handle' ? 'i32' : value === 'funcref' ? 'anyfunc' : value, mutable };
    let wasm: WebAssembly.Global;
    try {
      wasm = new WebAssembly.Global(descriptor as WebAssembly.GlobalDescriptor, start);
    } catch (err) {
      if (value === 'handle' && start !== 0) ExternRef.fromOwnedRaw(store, start as number)!.unroot();
      throw err;
    }
    this.store = store;
    this.wasm = wasm;
    this.value = value;
    this.mutable = mutable;
  }

  /** @internal A guest's global (`instance.getGlobal`), of its type, viewed as `value`. */
  static _of<V extends ValType>(store: Store, wasm: WebAssembly.Global, value: V, mutable: boolean): Global<V> {
    const g = Object.create(Global.prototype) as { -readonly [K in keyof Global<V>]: Global<V>[K] };
    g.store = store;
    g.wasm = wasm;
    g.value = value;
    g.mutable = mutable;
    return g as Global<V>;
  }

  /** Its type, as a module declares one (`handle` is `i32`). */
  get type(): GlobalType {
    return { value: wasmTypeOf(this.value), mutable: this.mutable };
  }

  /** The value: a root in the current scope (one more count) or `null` for references, else the number. */
  get(): GlobalValue<V> {
    return readGlobal(this, 'Global.get') as GlobalValue<V>;
  }

  /**
   * Sets the value (`TypeError` if immutable). A `handle` global takes a count for the new value
   * and gives back the old value's, which must be a count of this store's (`sharedref.clone`, or
   * an earlier `set`), else `ERR_CROSS_STORE` and no change.
   */
  set(v: GlobalValue<V>): void {
    const what = 'Global.set';
    coreOf(this.store).ensureOpen(what);
    if (!this.mutable) throw new TypeError(`${what}: the global is immutable`);
    if (this.value !== 'handle') {
      this.wasm.value = toGlobalValue(this.store, this.value, v, what);
      return;
    }
    const oldRaw = (this.wasm.value as number) >>> 0;
    // Take the old count back first: if it is not this store's, nothing has changed yet.
    const old = oldRaw === 0 ? null : ExternRef.fromOwnedRaw(this.store, oldRaw);
    let next: number;
    try {
      next = toGlobalValue(this.store, 'handle', v ?? null, what) as number;
    } catch (err) {
      old?.intoRaw(); // give the count back to the number it belonged to
      throw err;
    }
    this.wasm.value = next;
    old?.unroot();
  }
}

/** A global's value on the host side (see `Global#get`). */
function readGlobal(g: Global, what: string): unknown {
  const core = coreOf(g.store);
  core.ensureOpen(what);
  const v: unknown = g.wasm.value;
  switch (g.value) {
    case 'externref':
      return v === undefined || v === null ? null : fromWasm(core, 'externref', v, core.currentScope());
    case 'handle':
      return ExternRef.fromRaw(g.store, (v as number) >>> 0);
    default:
      return fromWasm(core, g.value, v, core.currentScope());
  }
}

function defaultOf(t: ValType): unknown {
  return t === 'i64' ? 0n : t === 'externref' || t === 'funcref' || t === 'handle' ? null : 0;
}

function toGlobalValue(store: Store, t: ValType, v: unknown, what: string): unknown {
  switch (t) {
    case 'externref':
      return toWasmRef(store, 'externref', v, what);
    case 'funcref':
      return funcArg(v, what);
    case 'handle': {
      if (v === null || v === undefined) return 0;
      if (!(v instanceof RootBase))
        throw new TypeError(`${what}: expected a root or null for a handle global, received ${describe(v)}`);
      const core = coreOf(store);
      if (rootCore(v) !== core) throw new CrossStoreError(what);
      checkRoot(v, what);
      // One count owned by the number, as sharedref.clone takes it.
      return core.toManual(v).intoRaw() | 0;
    }
    case 'i64':
      if (typeof v !== 'bigint') throw new TypeError(`${what}: expected a BigInt for an i64, received ${describe(v)}`);
      return v;
    default:
      if (typeof v !== 'number') throw new TypeError(`${what}: expected a number for ${t}, received ${describe(v)}`);
      return v;
  }
}
