/**
 * `Instance`: an instantiated module on a store, with typed access to its exports (Wasmtime's
 * `Instance::get_typed_func`, `get_table`, `get_global`, `get_memory`).
 *
 * The thread of its store. Every accessor checks the host's view against the type the module
 * declares (read from its binary, see `binary-types.ts`) before anything runs, and fails with
 * `ERR_TYPE_MISMATCH` naming the export, the module's type and the one given: a mismatch would
 * otherwise give silent wrong values (an `i32` parameter given an `externref` receives 0).
 *
 * Rejected: checking a typed call's arguments and results on every call instead. The types are
 * fixed when the module is compiled, so one check when the function is looked up is enough.
 */
import { TypeMismatchError } from '../errors';
import type { Store } from '../store/store';
import { coreOf } from '../store/internal';
import { framesOf } from './call-frames';
import { type Signature, type ValType, checkSignature, fromWasm, signatureMatches, toWasm, wasmTypeOf } from './abi';
import { type ExportType, type FuncType, type WasmRefType, formatExternType, formatFuncType } from './binary-types';
import { Global, Table } from './externs';
import { Module } from './module';
import { type IndirectCallContext, guestTrap, resolveIndirectCall } from './traps';
import type { TypedFunc } from './typed-func';

/** The type of every exported function of every instance this thread made (for trap codes). */
const exportedTypes = new WeakMap<object, FuncType>();

/** An instantiated module on a store. */
export class Instance {
  /** The store this instance uses. */
  readonly store: Store;
  /** The module it was made from. */
  readonly module: Module;
  /**
   * The raw exports, as V8 gives them. Calling an exported function directly skips the
   * conversions and the trap handling of `getTypedFunc`. Under the raw ABI, a handle that a host
   * function returns during such a call is kept until the current synchronous run of JS code ends
   * (a microtask), or until the guest drops it, as for glue code (`linker.imports`).
   */
  readonly exports: WebAssembly.Exports;
  readonly #traps: IndirectCallContext;

  /** @internal Use `linker.instantiate(module)`; `imports` is what it was instantiated with. */
  constructor(store: Store, instance: WebAssembly.Instance, module: Module, imports: WebAssembly.Imports) {
    if (!(instance instanceof WebAssembly.Instance) || !(module instanceof Module)) {
      throw new TypeError('an Instance is not constructed directly: use linker.instantiate(module)');
    }
    this.store = store;
    this.module = module;
    this.exports = instance.exports;
    const types = module.types;
    for (const e of types?.exports ?? []) {
      if (e.kind === 'function') exportedTypes.set(instance.exports[e.name] as object, e.type);
    }
    const exports = instance.exports;
    this.#traps = {
      bytes: module.bytes,
      types,
      table(i) {
        const exported = types?.exports.find((e) => e.kind === 'table' && e.index === i);
        if (exported !== undefined) return exports[exported.name] as WebAssembly.Table;
        const imported = types?.imports.filter((x) => x.kind === 'table')[i];
        const v = imported === undefined ? undefined : imports[imported.module]?.[imported.name];
        return v instanceof WebAssembly.Table ? v : null;
      },
      functionType(fn, ownTable) {
        const known = exportedTypes.get(fn as object);
        if (known !== undefined) return known;
        // A function of this module that it never exported: V8 names it by its function index.
        const index = Number((fn as { name?: unknown }).name);
        return ownTable && Number.isInteger(index) ? (types?.functions[index] ?? null) : null;
      },
    };
  }

  /** The export `name`'s type from the module, after checking that it is an export of `kind`. */
  #export(name: string, kind: ExportType['kind'], what: string): ExportType | undefined {
    if (typeof name !== 'string') throw new TypeError(`${what}: name must be a string`);
    const found = this.module.exports.find((e) => e.name === name);
    if (found === undefined || found.kind !== kind) {
      const other = found === undefined ? '' : ` (its export of that name is a ${found.kind})`;
      throw new TypeError(`${what}: the instance exports no ${kind} named ${JSON.stringify(name)}${other}`);
    }
    return this.module.exportType(name);
  }

  /**
   * The exported function `name` as a host function over `signature`: it takes roots or `null`
   * where the signature says `externref` or `handle` (a Wasm function or `null` for `funcref`),
   * and returns roots in the caller's current scope (an array if there are several results).
   * `ERR_TYPE_MISMATCH` if the signature is not the function's type (`handle` stands for `i32`).
   * A literal signature types the function (typed-func.ts).
   */
  getTypedFunc<const S extends Signature>(name: string, signature: S): TypedFunc<S> {
    const what = `getTypedFunc(${JSON.stringify(name)})`;
    const sig = checkSignature(signature, what);
    const type = this.#export(name, 'function', what);
    const f = this.exports[name] as (...a: unknown[]) => unknown;
    if (type !== undefined && type.kind === 'function') {
      if (!signatureMatches(sig, type.type))
        throw new TypeMismatchError(`export ${JSON.stringify(name)}`, formatFuncType(type.type), formatFuncType(sig));
    } else if (f.length !== sig.params.length) {
      // The module's types are unknown (Module.fromCompiled without bytes): only the arity can be checked.
      throw new TypeMismatchError(
        `export ${JSON.stringify(name)}`,
        `a function of ${f.length} parameters`,
        formatFuncType(sig),
      );
    }
    const core = coreOf(this.store);
    const frames = framesOf(core);
    const { params, results } = sig;
    const traps = this.#traps;
    // The function index the call enters (for naming an indirect-call trap), when known.
    const entered = type?.kind === 'function' ? type.index : undefined;
    const typed = (...args: unknown[]): unknown => {
      if (args.length !== params.length)
        throw new TypeError(`${name}: expected ${params.length} arguments, received ${args.length}`);
      core.ensureOpen(name);
      const callerScope = core.currentScope();
      // Handles that host functions return during this call are kept in its frame until it returns.
      frames.enter();
      try {
        const wasmArgs = new Array<unknown>(params.length);
        for (let i = 0; i < params.length; i++) wasmArgs[i] = toWasm(core, params[i]!, args[i], name);
        let out: unknown;
        try {
          out = f(...wasmArgs);
        } catch (err) {
          throw guestTrap(name, err, () =>
            resolveIndirectCall(err, traps, entered === undefined ? undefined : { func: entered, args: wasmArgs }),
          );
        }
        if (results.length === 0) return undefined;
        if (results.length === 1) return fromWasm(core, results[0]!, out, callerScope);
        return results.map((t, i) => fromWasm(core, t, (out as unknown[])[i], callerScope));
      } finally {
        frames.leave();
      }
    };
    return typed as TypedFunc<S>;
  }

  /**
   * The exported table `name` (`Table#get` / `set` / `grow` / `fill` / `size` with roots).
   * `element`, if given, is checked against the module's type.
   */
  getTable<E extends WasmRefType = WasmRefType>(name: string, element?: E): Table<E> {
    const what = `getTable(${JSON.stringify(name)})`;
    coreOf(this.store).ensureOpen(what);
    const type = this.#export(name, 'table', what);
    if (type === undefined || type.kind !== 'table') {
      throw new TypeError(
        `${what}: the module's types are unknown (Module.fromCompiled without its bytes); pass module.bytes`,
      );
    }
    if (element !== undefined && element !== type.type.element)
      throw new TypeMismatchError(`export ${JSON.stringify(name)}`, formatExternType(type), `(table ${element})`);
    return Table._of<E>(this.store, this.exports[name] as WebAssembly.Table, type.type);
  }

  /**
   * The exported global `name`. `value`, if given, is checked against the module's type; give
   * `'handle'` to read and write an `i32` global as a counted handle (see `Global`).
   */
  getGlobal<V extends ValType = ValType>(name: string, value?: V): Global<V> {
    const what = `getGlobal(${JSON.stringify(name)})`;
    coreOf(this.store).ensureOpen(what);
    const type = this.#export(name, 'global', what);
    if (type === undefined || type.kind !== 'global') {
      throw new TypeError(
        `${what}: the module's types are unknown (Module.fromCompiled without its bytes); pass module.bytes`,
      );
    }
    const t = type.type;
    if (t.value === 'v128') throw new TypeError(`${what}: a v128 global cannot be read or written from JavaScript`);
    if (value !== undefined && wasmTypeOf(value) !== t.value) {
      throw new TypeMismatchError(`export ${JSON.stringify(name)}`, formatExternType(type), `(global ${value})`);
    }
    return Global._of<V>(this.store, this.exports[name] as WebAssembly.Global, (value ?? t.value) as V, t.mutable);
  }

  /** The exported memory `name`. */
  getMemory(name: string): WebAssembly.Memory {
    this.#export(name, 'memory', `getMemory(${JSON.stringify(name)})`);
    return this.exports[name] as WebAssembly.Memory;
  }
}
