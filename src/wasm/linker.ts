/**
 * `Linker` and `Instance`: host functions for Wasm guests, and typed calls into guests.
 *
 * The thread of the linker's store. A host function defined with `funcWrap` receives
 * `(caller, ...args)`. Reference arguments are roots in a fresh scope for that call, released
 * when it returns or throws. Its results convert back by the signature. A handle it returns stays
 * valid until the outermost typed call returns. `instance.getTypedFunc(name, signature)` gives a
 * function that takes roots (or `null`) and returns roots in the caller's scope.
 *
 * Every failure inside a call surfaces as a `WasmTrap`: a host function that throws (its error is
 * the `cause`), a forged or stale handle reaching an import (`cause.code === 'ERR_INVALID_HANDLE'`),
 * or a trap of the guest's own. The call's roots are released in every case.
 *
 * The import module `sharedref` is always available to guests of the raw ABI: `clone`, `drop`,
 * `eq`, `is_null`, `strong_count`. Counts taken with `clone` belong to the linker's store (as
 * `intoRaw` counts do), so they are released when the store closes or its thread dies (I4).
 */
import { InvalidHandleError, MissingImportError, WasmTrap } from '../errors';
import { describe } from '../options';
import { ExternRef } from '../store/extern-ref';
import { RootScope } from '../store/roots';
import { Store } from '../store/store';
import { type Signature, type ValType, argumentFor, checkSignature, fromWasm, resultToWasm, toWasm } from './abi';
import { Module } from './module';

/** What a host function receives first. */
export interface Caller {
  /** The linker's store: use it for new references (`ExternRef.new(caller.store, …)`). */
  readonly store: Store;
  /** The instance whose guest made the call (null while instantiating: a start function). */
  readonly instance: Instance | null;
}

/** A host function: synchronous; references arrive as roots, results convert by the signature. */
export type HostFunction = (caller: Caller, ...args: never[]) => unknown;

interface FuncDef {
  readonly sig: Signature;
  readonly fn: HostFunction;
}

type Imports = Record<string, Record<string, unknown>>;

function trap(where: string, err: unknown): WasmTrap {
  return err instanceof WasmTrap ? err : new WasmTrap(where, err);
}

/** Host functions and values for instantiating modules on one store. */
export class Linker {
  /** The store every instance of this linker uses. */
  readonly store: Store;
  readonly #funcs = new Map<string, FuncDef>();
  readonly #values = new Map<string, unknown>();

  /** A linker for `store`. */
  constructor(store: Store) {
    if (!(store instanceof Store)) throw new TypeError(`new Linker: expected a Store, received ${describe(store)}`);
    this.store = store;
  }

  /**
   * Defines the import `module`.`name` as the host function `fn` with `signature`
   * (`{ params, results }` over `i32 i64 f32 f64 externref handle`). Returns the linker.
   */
  funcWrap(module: string, name: string, signature: Signature, fn: HostFunction): this {
    const what = `funcWrap(${JSON.stringify(module)}, ${JSON.stringify(name)})`;
    if (typeof module !== 'string' || typeof name !== 'string')
      throw new TypeError(`${what}: module and name must be strings`);
    if (typeof fn !== 'function') throw new TypeError(`${what}: fn must be a function, received ${describe(fn)}`);
    this.#funcs.set(`${module}\0${name}`, { sig: checkSignature(signature, what), fn });
    return this;
  }

  /** Defines the import `module`.`name` as a value: a `WebAssembly.Memory`, `Table` or `Global`. */
  define(module: string, name: string, value: WebAssembly.Memory | WebAssembly.Table | WebAssembly.Global): this {
    const what = `define(${JSON.stringify(module)}, ${JSON.stringify(name)})`;
    if (typeof module !== 'string' || typeof name !== 'string')
      throw new TypeError(`${what}: module and name must be strings`);
    if (!(
      value instanceof WebAssembly.Memory ||
      value instanceof WebAssembly.Table ||
      value instanceof WebAssembly.Global
    )) {
      throw new TypeError(
        `${what}: expected a WebAssembly.Memory, Table or Global, received ` +
          `${describe(value)}${typeof value === 'function' ? ' (host functions go through funcWrap)' : ''}`,
      );
    }
    this.#values.set(`${module}\0${name}`, value);
    return this;
  }

  /** Instantiates `module`; imports the linker does not define fail here, each named. */
  instantiate(module: Module): Instance {
    if (!(module instanceof Module))
      throw new TypeError(`instantiate: expected a Module, received ${describe(module)}`);
    this.store._ensureOpen('instantiate');
    const ctx: { instance: Instance | null } = { instance: null };
    const imports: Imports = {};
    const missing: string[] = [];
    for (const imp of module.imports) {
      const key = `${imp.module}\0${imp.name}`;
      let value: unknown;
      if (imp.kind === 'function') {
        const def = this.#funcs.get(key);
        value =
          def !== undefined
            ? this.#hostImport(imp.module, imp.name, def, ctx)
            : imp.module === 'sharedref'
              ? sharedrefImport(this.store, imp.name)
              : undefined;
      } else {
        value = this.#values.get(key);
      }
      if (value === undefined) missing.push(`${imp.module}.${imp.name} (${imp.kind})`);
      else (imports[imp.module] ??= {})[imp.name] = value;
    }
    if (missing.length > 0) {
      throw new MissingImportError(missing);
    }
    let raw: WebAssembly.Instance;
    try {
      raw = new WebAssembly.Instance(module.wasm, imports as WebAssembly.Imports);
    } catch (err) {
      if (err instanceof WebAssembly.LinkError) throw err;
      throw trap('start', err);
    }
    const instance = new Instance(this.store, raw);
    ctx.instance = instance;
    return instance;
  }

  #hostImport(
    module: string,
    name: string,
    def: FuncDef,
    ctx: { instance: Instance | null },
  ): (...args: unknown[]) => unknown {
    const store = this.store;
    const { sig, fn } = def;
    const where = `${module}.${name}`;
    const params = sig.params;
    const results = sig.results;
    // One caller object per import: `instance` is read when the guest calls, after instantiate.
    const caller: Caller = {
      store,
      get instance() {
        return ctx.instance;
      },
    };
    const call = fn as (...a: unknown[]) => unknown;
    // A handle result is kept in the scope that was current when the import was entered; only
    // then is that scope looked up.
    const keepsHandles = results.includes('handle');
    // One scope per import, reused from call to call; a re-entrant call (a host function that
    // calls back into the guest, which calls this import again) gets a fresh one.
    let idle: RootScope | null = null;
    const open = (): RootScope => {
      const s = idle;
      if (s === null) return new RootScope(store);
      idle = null;
      s._reopen();
      return s;
    };
    const done = (s: RootScope): void => {
      s.close();
      idle = s;
    };
    const env: ImportEnv = {
      store,
      caller,
      call,
      open,
      done,
      finish: finisher(store, results, where),
      trap,
      where,
      keepsHandles,
      conv: params.map((t) => argumentFor(store, t)),
    };
    return compileImport(params.length, env);
  }
}

/**
 * Converts a host function's return value by the import's result types. One small function per
 * result count: V8 inlines the converter into the import's wrapper, and a converter for every
 * count at once was large enough to use up the inlining budget that the argument conversions need.
 */
function finisher(
  store: Store,
  results: readonly ValType[],
  where: string,
): (r: unknown, outer: RootScope | null) => unknown {
  const notSync = (): never => {
    throw new TypeError(`${where}: host functions called from Wasm must be synchronous`);
  };
  switch (results.length) {
    case 0:
      return (r) => {
        if (r instanceof Promise) notSync();
        return undefined;
      };
    case 1: {
      const t = results[0]!;
      return (r, outer) => {
        if (r instanceof Promise) notSync();
        return resultToWasm(store, t, r, outer!, where);
      };
    }
    default:
      return (r, outer) => {
        if (r instanceof Promise) notSync();
        if (!Array.isArray(r) || r.length !== results.length)
          throw new TypeError(`${where}: expected an array of ${results.length} results`);
        return results.map((t, i) => resultToWasm(store, t, r[i], outer!, where));
      };
  }
}

/** What an import's compiled wrapper uses (see `compileImport`). */
interface ImportEnv {
  readonly store: Store;
  readonly caller: Caller;
  readonly call: (...a: unknown[]) => unknown;
  readonly open: () => RootScope;
  readonly done: (s: RootScope) => void;
  readonly finish: (r: unknown, outer: RootScope | null) => unknown;
  readonly trap: (where: string, err: unknown) => WasmTrap;
  readonly where: string;
  readonly keepsHandles: boolean;
  readonly conv: readonly ((v: unknown, scope: RootScope) => unknown)[];
}

/**
 * The wrapper Wasm calls for one import of `arity` parameters. Each call: its reference
 * arguments become roots in a scope of its own, released when it returns; a handle it returns
 * joins the caller's scope, so it outlives this one; any error is a `WasmTrap`.
 *
 * Compiled afresh for each import with `new Function`, so that each import's wrapper has type
 * feedback of its own. Closures made from one function literal share their feedback: with several
 * imports of one arity, the wrapper's calls to the host function and to the argument converters
 * each saw several targets, V8 inlined none of them, and every borrowed root became a real
 * allocation (measured: 43 ns a call with two such imports against 30 ns with one). The source is
 * built from the arity alone; nothing of the caller's (names, signatures, functions) is pasted
 * into it, they reach it through `env`. Spelling out the arguments also keeps rest arrays and
 * spreads off the hot path.
 */
function compileImport(arity: number, env: ImportEnv): (...args: unknown[]) => unknown {
  if (!Number.isInteger(arity) || arity < 0) throw new RangeError(`compileImport: bad arity ${arity}`);
  const names = Array.from({ length: arity }, (_, i) => `a${i}`);
  const converters = names.map((_, i) => `c${i}`);
  const args = names.map((a, i) => `, c${i}(${a}, scope)`).join('');
  const source = `
    "use strict";
    const { store, caller, call, open, done, finish, trap, where, keepsHandles, conv } = env;
    const [${converters.join(', ')}] = conv;
    return function hostImport(${names.join(', ')}) {
      const outer = keepsHandles ? store._currentScope() : null;
      const scope = open();
      try {
        return finish(call(caller${args}), outer);
      } catch (err) {
        throw trap(where, err);
      } finally {
        done(scope);
      }
    };`;
  let make: (env: ImportEnv) => (...args: unknown[]) => unknown;
  try {
    make = new Function('env', source) as typeof make;
  } catch (err) {
    // Node run with --disallow-code-generation-from-strings: the same wrapper as a closure.
    if (err instanceof EvalError) return genericImport(env);
    throw err;
  }
  return make(env);
}

/**
 * The import wrapper as one closure for every import (rest arguments, shared type feedback):
 * what `compileImport` gives when this process may not compile code from strings. Same behaviour,
 * slower when several imports share an arity.
 */
function genericImport(env: ImportEnv): (...args: unknown[]) => unknown {
  const { store, caller, call, open, done, finish, trap, where, keepsHandles, conv } = env;
  return (...wasmArgs: unknown[]): unknown => {
    const outer = keepsHandles ? store._currentScope() : null;
    const scope = open();
    try {
      const args = new Array<unknown>(conv.length + 1);
      args[0] = caller;
      for (let i = 0; i < conv.length; i++) args[i + 1] = conv[i]!(wasmArgs[i], scope);
      return finish(call(...args), outer);
    } catch (err) {
      throw trap(where, err);
    } finally {
      done(scope);
    }
  };
}

/** The raw ABI's import module `sharedref`, bound to `store`. */
function sharedrefImport(store: Store, name: string): ((...args: number[]) => number | void) | undefined {
  const guard =
    <A extends number[], R>(f: (...a: A) => R) =>
    (...a: A): R => {
      try {
        return f(...a);
      } catch (err) {
        throw trap(`sharedref.${name}`, err);
      }
    };
  switch (name) {
    case 'clone':
      // A count owned by this store, kept under the raw number (the seed's into_raw).
      return guard((h: number) => {
        const raw = h >>> 0;
        if (raw === 0) return 0;
        ExternRef.fromRawManuallyRooted(store, raw)!.intoRaw();
        return h;
      });
    case 'drop':
      // Gives back a count taken with clone; a handle this store never cloned traps.
      return guard((h: number) => {
        const raw = h >>> 0;
        if (raw !== 0) ExternRef.fromOwnedRaw(store, raw)!.unroot();
      });
    case 'eq':
      return guard((a: number, b: number) => (a >>> 0 === b >>> 0 ? 1 : 0));
    case 'is_null':
      return guard((h: number) => (h === 0 ? 1 : 0));
    case 'strong_count':
      return guard((h: number) => {
        const index = store._slots.check(h >>> 0);
        if (index < 0) throw new InvalidHandleError(h >>> 0);
        return store._slots.count(index);
      });
    default:
      return undefined;
  }
}

/** An instantiated module on a store. */
export class Instance {
  /** The store this instance uses. */
  readonly store: Store;
  /** The raw exports (call functions through `getTypedFunc` to get roots and traps). */
  readonly exports: WebAssembly.Exports;

  /** @internal Use `linker.instantiate(module)`. */
  constructor(store: Store, instance: WebAssembly.Instance) {
    this.store = store;
    this.exports = instance.exports;
  }

  /**
   * The exported function `name` as a host function over `signature`: it takes roots or `null`
   * where the signature says `externref` or `handle`, and returns roots in the caller's current
   * scope (an array if there are several results).
   */
  getTypedFunc(name: string, signature: Signature): (...args: unknown[]) => unknown {
    const what = `getTypedFunc(${JSON.stringify(name)})`;
    const sig = checkSignature(signature, what);
    const f = this.exports[name];
    if (typeof f !== 'function')
      throw new TypeError(`${what}: the instance exports no function named ${JSON.stringify(name)}`);
    if (f.length !== sig.params.length) {
      throw new TypeError(
        `${what}: the function takes ${f.length} parameters but the signature has ${sig.params.length}`,
      );
    }
    const store = this.store;
    const { params, results } = sig;
    const call = f as (...a: unknown[]) => unknown;
    return (...args: unknown[]): unknown => {
      if (args.length !== params.length)
        throw new TypeError(`${name}: expected ${params.length} arguments, received ${args.length}`);
      store._ensureOpen(name);
      const callerScope = store._currentScope();
      // Handles returned by host functions during this call live in this scope until it returns.
      const scope = new RootScope(store);
      try {
        const wasmArgs = new Array<unknown>(params.length);
        for (let i = 0; i < params.length; i++) wasmArgs[i] = toWasm(store, params[i]!, args[i], name);
        let out: unknown;
        try {
          out = call(...wasmArgs);
        } catch (err) {
          throw trap(name, err);
        }
        if (results.length === 0) return undefined;
        if (results.length === 1) return fromWasm(store, results[0]!, out, callerScope);
        return results.map((t, i) => fromWasm(store, t, (out as unknown[])[i], callerScope));
      } finally {
        scope.close();
      }
    };
  }
}
