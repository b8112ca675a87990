/**
 * `Linker`: host functions and values for Wasm guests, instance linking, and the imports object
 * for third-party glue (Wasmtime's `Linker`).
 *
 * The thread of the linker's store. A host function defined with `funcWrap` receives
 * `(caller, ...args)`. Reference arguments are roots in a fresh scope for that call, released
 * when it returns or throws. Its results convert back by the signature. A handle it returns stays
 * valid until the typed call that was running returns, or until the guest gives it back with
 * `sharedref.drop` (call-frames.ts); outside any typed call (glue code, or `instance.exports`,
 * calling the guest itself), until the current synchronous run of JS code ends.
 *
 * Every import is checked against the type the importing module declares before anything is
 * instantiated: a `funcWrap` signature, another instance's function, table or global
 * (`linker.instance`), a host-made `Table` or `Global`. A mismatch is `ERR_TYPE_MISMATCH` naming
 * the import, the module's type and the one given; an import nobody defined is
 * `ERR_MISSING_IMPORT`. Functions of another instance are passed to V8 as they are, so calls
 * between instances stay Wasm-to-Wasm and the functions keep their identity.
 *
 * Every failure inside a call surfaces as a `WasmTrap`: a host function that throws (its error is
 * the `cause`), a forged or stale handle reaching an import (`cause.code === 'ERR_INVALID_HANDLE'`),
 * or a trap of the guest's own (with its `trapCode`). The call's roots are released in every case.
 *
 * The import module `sharedref` (`sharedref-imports.ts`) is always available to guests.
 *
 * Rejected: checking types at the first call instead of at `instantiate`, as V8 does for host
 * functions (it does not at all): a mismatch would then show up as wrong values, not an error.
 */
import { CrossStoreError, InternalError, MissingImportError, TypeMismatchError, type WasmTrap } from '../errors';
import { describe } from '../options';
import { RootBase, RootScope } from '../store/roots';
import { Store } from '../store/store';
import { type StoreCore, coreOf, reopenScope } from '../store/internal';
import { type Signature, type ValType, argumentFor, checkSignature, resultToWasm, signatureMatches } from './abi';
import { type ExternType, type FuncType, type ImportType, formatExternType, formatFuncType } from './binary-types';
import { Global, Table } from './externs';
import { framesOf, type CallFrames } from './call-frames';
import { Instance } from './instance';
import { Module } from './module';
import { SHAREDREF_IMPORTS, sharedrefImport } from './sharedref-imports';
import { guestTrap, hostTrap } from './traps';
import type { HostFunc } from './typed-func';

export { Instance } from './instance';

/** What a host function receives first. */
export interface Caller {
  /** The linker's store: use it for new references (`ExternRef.new(caller.store, …)`). */
  readonly store: Store;
  /**
   * The instance whose guest made the call (null while instantiating: a start function; and for
   * imports handed to glue code with `linker.imports`, which instantiates the module itself).
   */
  readonly instance: Instance | null;
}

/** A host function: synchronous; references arrive as roots, results convert by the signature. */
export type HostFunction = (caller: Caller, ...args: never[]) => unknown;

/** One definition of the linker, by `module\0name`. */
type Definition =
  | { readonly kind: 'host'; readonly sig: Signature; readonly fn: HostFunction }
  | { readonly kind: 'function'; readonly value: unknown; readonly type: FuncType | null }
  | { readonly kind: 'memory'; readonly value: WebAssembly.Memory }
  | {
      readonly kind: 'table';
      readonly value: WebAssembly.Table;
      readonly table: Table | null;
      readonly type: ExternType | null;
    }
  | { readonly kind: 'global'; readonly value: WebAssembly.Global; readonly type: ExternType | null }
  | { readonly kind: 'tag'; readonly value: unknown };

type Imports = Record<string, Record<string, unknown>>;

/** Host functions and values for instantiating modules on one store. */
export class Linker {
  /** The store every instance of this linker uses. */
  readonly store: Store;
  readonly #defs = new Map<string, Definition>();

  /** A linker for `store`. */
  constructor(store: Store) {
    if (!(store instanceof Store)) throw new TypeError(`new Linker: expected a Store, received ${describe(store)}`);
    this.store = store;
  }

  /**
   * Defines the import `module`.`name` as the host function `fn` with `signature`
   * (`{ params, results }` over `i32 i64 f32 f64 externref funcref handle`). Returns the linker.
   *
   * In TypeScript a literal signature types `fn` (`HostFunc`): after the caller, a `Rooted | null`
   * for each `externref` or `handle` (a borrowed root, `null` for a null reference or handle 0),
   * a `bigint` for `i64`, a `number` for `i32`, `f32` and `f64`, a `WasmFunction | null` for
   * `funcref`; its result is checked as a typed call's arguments are. A signature typed only as
   * `Signature` leaves `fn` untyped: each parameter is annotated, unchecked.
   */
  funcWrap<const S extends Signature>(module: string, name: string, signature: S, fn: NoInfer<HostFunc<S>>): this {
    const what = `funcWrap(${JSON.stringify(module)}, ${JSON.stringify(name)})`;
    if (typeof module !== 'string' || typeof name !== 'string')
      throw new TypeError(`${what}: module and name must be strings`);
    if (typeof fn !== 'function') throw new TypeError(`${what}: fn must be a function, received ${describe(fn)}`);
    this.#defs.set(`${module}\0${name}`, {
      kind: 'host',
      sig: checkSignature(signature, what),
      fn: fn as HostFunction,
    });
    return this;
  }

  /**
   * Defines the import `module`.`name` as a value: a `WebAssembly.Memory`, a `Table` or `Global`
   * (host-made or from `instance.getTable` / `getGlobal`: their types are checked at
   * `instantiate`), or V8's own `WebAssembly.Table` / `WebAssembly.Global` (V8 checks those). A V8
   * table or global that holds a bare root is refused here: a guest can only use the reference a
   * `Table` or `Global` makes of it.
   */
  define(
    module: string,
    name: string,
    value: WebAssembly.Memory | WebAssembly.Table | WebAssembly.Global | Table | Global,
  ): this {
    const what = `define(${JSON.stringify(module)}, ${JSON.stringify(name)})`;
    if (typeof module !== 'string' || typeof name !== 'string')
      throw new TypeError(`${what}: module and name must be strings`);
    let def: Definition;
    if (value instanceof Table || value instanceof Global) {
      if (value.store !== this.store)
        throw new CrossStoreError(what, `the ${value.constructor.name} belongs to another store`);
      def =
        value instanceof Table
          ? { kind: 'table', value: value.wasm, table: value, type: null }
          : { kind: 'global', value: value.wasm, type: { kind: 'global', type: value.type } };
    } else if (value instanceof WebAssembly.Memory) {
      def = { kind: 'memory', value };
    } else if (value instanceof WebAssembly.Table) {
      for (let i = 0; i < value.length; i++) refuseBareRoot(value.get(i), `${what}: element ${i} of the table`);
      def = { kind: 'table', value, table: null, type: null };
    } else if (value instanceof WebAssembly.Global) {
      let v: unknown;
      try {
        v = value.value;
      } catch {
        v = undefined; // a v128 global: no JS value to look at
      }
      refuseBareRoot(v, `${what}: the global's value`);
      def = { kind: 'global', value, type: null };
    } else {
      throw new TypeError(
        `${what}: expected a WebAssembly.Memory, Table or Global (V8's, or sharedref's Table / Global), received ` +
          `${describe(value)}${typeof value === 'function' ? ' (host functions go through funcWrap)' : ''}`,
      );
    }
    this.#defs.set(`${module}\0${name}`, def);
    return this;
  }

  /**
   * Defines every export of `instance` as an import of the module `moduleName` (Wasmtime's
   * `Linker::instance`): functions (kept as they are, so calls stay Wasm-to-Wasm and the function
   * keeps its identity), memories, tables, globals and tags. Their types are checked against each
   * importing module's at `instantiate`. The instance must be of this linker's store.
   */
  instance(moduleName: string, instance: Instance): this {
    const what = `instance(${JSON.stringify(moduleName)})`;
    if (typeof moduleName !== 'string') throw new TypeError(`${what}: moduleName must be a string`);
    if (!(instance instanceof Instance))
      throw new TypeError(`${what}: expected an Instance, received ${describe(instance)}`);
    if (instance.store !== this.store) throw new CrossStoreError(what, 'the instance belongs to another store');
    for (const exp of instance.module.exports) {
      const type = instance.module.exportType(exp.name) ?? null;
      const value = instance.exports[exp.name];
      let def: Definition;
      switch (exp.kind) {
        case 'function':
          def = { kind: 'function', value, type: type?.kind === 'function' ? type.type : null };
          break;
        case 'memory':
          def = { kind: 'memory', value: value as WebAssembly.Memory };
          break;
        case 'table':
          def = { kind: 'table', value: value as WebAssembly.Table, table: null, type };
          break;
        case 'global':
          def = { kind: 'global', value: value as WebAssembly.Global, type };
          break;
        default:
          def = { kind: 'tag', value };
      }
      this.#defs.set(`${moduleName}\0${exp.name}`, def);
    }
    return this;
  }

  /**
   * Instantiates `module`. Every import is checked first: one nobody defined is
   * `ERR_MISSING_IMPORT` (each named), one of the wrong type `ERR_TYPE_MISMATCH`.
   */
  instantiate(module: Module): Instance {
    if (!(module instanceof Module))
      throw new TypeError(`instantiate: expected a Module, received ${describe(module)}`);
    coreOf(this.store).ensureOpen('instantiate');
    const ctx: { instance: Instance | null } = { instance: null };
    const imports = this.#resolve(module, ctx);
    let raw: WebAssembly.Instance;
    try {
      raw = new WebAssembly.Instance(module.wasm, imports as WebAssembly.Imports);
    } catch (err) {
      if (err instanceof WebAssembly.LinkError) throw err;
      throw guestTrap('start', err);
    }
    const instance = new Instance(this.store, raw, module, imports as WebAssembly.Imports);
    ctx.instance = instance;
    return instance;
  }

  /**
   * The imports object for `module`, checked as `instantiate` checks it, for code that
   * instantiates the module itself (the JS glue of AssemblyScript's `--bindings`, Emscripten or
   * wasm-bindgen). Host functions convert references by their signatures, as for `instantiate`;
   * a handle one returns is kept until the typed call running then returns or, when the glue called
   * the export itself, until the current synchronous run of JS code ends (a microtask), so
   * temporaries are released per call. `caller.instance` is `null`. Give the glue's exports
   * references with `ExternRefObject.fromRoot(root)` and take the ones it returns with
   * `ExternRefObject.toRooted(store, x)` (or raw handles with `toRaw` / `ExternRef.fromRaw`).
   */
  imports(module: Module): WebAssembly.Imports {
    if (!(module instanceof Module)) throw new TypeError(`imports: expected a Module, received ${describe(module)}`);
    coreOf(this.store).ensureOpen('imports');
    return this.#resolve(module, { instance: null }) as WebAssembly.Imports;
  }

  /** The imports for `module`, each checked against its type. */
  #resolve(module: Module, ctx: { instance: Instance | null }): Imports {
    const imports: Imports = {};
    const missing: string[] = [];
    for (const imp of module.imports) {
      const def = this.#defs.get(`${imp.module}\0${imp.name}`);
      const type = module.importType(imp.module, imp.name);
      let value: unknown;
      if (def !== undefined) {
        checkImport(imp, type, def);
        value = def.kind === 'host' ? this.#hostImport(imp.module, imp.name, def, ctx) : def.value;
      } else if (imp.module === 'sharedref' && imp.kind === 'function') {
        value = sharedrefImport(this.store, imp.name);
        const want = SHAREDREF_IMPORTS[imp.name];
        if (value !== undefined && type?.kind === 'function' && !signatureMatches(asSignature(want!), type.type)) {
          throw new TypeMismatchError(`import sharedref.${imp.name}`, formatFuncType(type.type), formatFuncType(want!));
        }
      }
      if (value === undefined) missing.push(`${imp.module}.${imp.name} (${imp.kind})`);
      else (imports[imp.module] ??= {})[imp.name] = value;
    }
    if (missing.length > 0) throw new MissingImportError(missing);
    return imports;
  }

  #hostImport(
    module: string,
    name: string,
    def: { readonly sig: Signature; readonly fn: HostFunction },
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
    const core = coreOf(store);
    // One scope per import, reused from call to call; a re-entrant call (a host function that
    // calls back into the guest, which calls this import again) gets a fresh one.
    let idle: RootScope | null = null;
    const open = (): RootScope => {
      const s = idle;
      if (s === null) return new RootScope(store);
      idle = null;
      reopenScope(s);
      return s;
    };
    const done = (s: RootScope): void => {
      s.close();
      idle = s;
    };
    const env: ImportEnv = {
      caller,
      call,
      open,
      done,
      finish: finisher(core, framesOf(core), results, where),
      trap: hostTrap,
      where,
      conv: params.map((t) => argumentFor(core, t)),
    };
    return compileImport(params.length, env);
  }
}

/** A `FuncType` as a host signature (for the `sharedref` functions). */
function asSignature(t: FuncType): Signature {
  return t as Signature;
}

/** A bare root found where a guest needs its own reference: refused at once. */
function refuseBareRoot(v: unknown, what: string): void {
  if (v instanceof RootBase) {
    throw new TypeError(
      `${what} is a bare ${v.constructor.name}, which a guest cannot use as a reference; ` +
        'make the table or global with new Table / new Global, which convert roots',
    );
  }
}

/** Whether limits `got` satisfy an import's `want` (the Wasm spec's import matching). */
function limitsMatch(
  got: { readonly initial: number; readonly maximum: number | null },
  want: { readonly initial: number; readonly maximum: number | null },
): boolean {
  return (
    got.initial >= want.initial && (want.maximum === null || (got.maximum !== null && got.maximum <= want.maximum))
  );
}

/**
 * Throws `ERR_TYPE_MISMATCH` unless `def` fits the import `imp` of type `type` (when the module's
 * types are known; V8 checks the rest).
 */
function checkImport(imp: WebAssembly.ModuleImportDescriptor, type: ImportType | undefined, def: Definition): void {
  const where = `import ${imp.module}.${imp.name}`;
  const expected = type !== undefined ? formatExternType(type) : `a ${imp.kind}`;
  const defKind = def.kind === 'host' ? 'function' : def.kind;
  if (defKind !== imp.kind) throw new TypeMismatchError(where, expected, `a ${defKind}`);
  if (type === undefined) return;
  switch (def.kind) {
    case 'host':
      if (type.kind === 'function' && !signatureMatches(def.sig, type.type))
        throw new TypeMismatchError(where, expected, formatFuncType(def.sig));
      return;
    case 'function':
      if (type.kind === 'function' && def.type !== null && !sameFuncType(def.type, type.type))
        throw new TypeMismatchError(where, expected, formatFuncType(def.type));
      return;
    case 'table': {
      const got =
        def.table !== null
          ? def.table.type
          : def.type?.kind === 'table'
            ? { ...def.type.type, initial: def.value.length }
            : null;
      if (type.kind === 'table' && got !== null && (got.element !== type.type.element || !limitsMatch(got, type.type)))
        throw new TypeMismatchError(where, expected, formatExternType({ kind: 'table', type: got }));
      return;
    }
    case 'global': {
      const got = def.type?.kind === 'global' ? def.type.type : null;
      if (
        type.kind === 'global' &&
        got !== null &&
        (got.value !== type.type.value || got.mutable !== type.type.mutable)
      )
        throw new TypeMismatchError(where, expected, formatExternType({ kind: 'global', type: got }));
      return;
    }
    case 'memory': {
      if (type.kind !== 'memory') return;
      const shared = def.value.buffer instanceof SharedArrayBuffer;
      const pages = def.value.buffer.byteLength / 65536;
      if (shared !== type.type.shared || pages < type.type.initial) {
        const given = `a${shared ? ' shared' : 'n unshared'} memory of ${pages} pages`;
        throw new TypeMismatchError(where, expected, given);
      }
      return;
    }
    default:
      return;
  }
}

function sameFuncType(a: FuncType, b: FuncType): boolean {
  const same = (x: readonly string[], y: readonly string[]): boolean =>
    x.length === y.length && x.every((t, i) => t === y[i]);
  return same(a.params, b.params) && same(a.results, b.results);
}

/**
 * Converts a host function's return value by the import's result types. One small function per
 * result count: V8 inlines the converter into the import's wrapper, and a converter for every
 * count at once was large enough to use up the inlining budget that the argument conversions need.
 */
function finisher(
  core: StoreCore,
  frames: CallFrames,
  results: readonly ValType[],
  where: string,
): (r: unknown, scope: RootScope) => unknown {
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
      return (r, scope) => {
        if (r instanceof Promise) notSync();
        return resultToWasm(core, t, r, scope, frames, where);
      };
    }
    default:
      return (r) => {
        if (r instanceof Promise) notSync();
        if (!Array.isArray(r) || r.length !== results.length)
          throw new TypeError(`${where}: expected an array of ${results.length} results`);
        // One root may be returned twice: each result takes a count of its own (no move).
        return results.map((t, i) => resultToWasm(core, t, r[i], null, frames, where));
      };
  }
}

/** What an import's compiled wrapper uses (see `compileImport`). */
interface ImportEnv {
  readonly caller: Caller;
  readonly call: (...a: unknown[]) => unknown;
  readonly open: () => RootScope;
  readonly done: (s: RootScope) => void;
  readonly finish: (r: unknown, scope: RootScope) => unknown;
  readonly trap: (where: string, err: unknown) => WasmTrap;
  readonly where: string;
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
  if (!Number.isInteger(arity) || arity < 0) throw new InternalError(`compileImport: bad arity ${arity}`);
  const names = Array.from({ length: arity }, (_, i) => `a${i}`);
  const converters = names.map((_, i) => `c${i}`);
  const args = names.map((a, i) => `, c${i}(${a}, scope)`).join('');
  const source = `
    "use strict";
    const { caller, call, open, done, finish, trap, where, conv } = env;
    const [${converters.join(', ')}] = conv;
    return function hostImport(${names.join(', ')}) {
      const scope = open();
      try {
        return finish(call(caller${args}), scope);
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
  const { caller, call, open, done, finish, trap, where, conv } = env;
  return (...wasmArgs: unknown[]): unknown => {
    const scope = open();
    try {
      const args = new Array<unknown>(conv.length + 1);
      args[0] = caller;
      for (let i = 0; i < conv.length; i++) args[i + 1] = conv[i]!(wasmArgs[i], scope);
      return finish(call(...args), scope);
    } catch (err) {
      throw trap(where, err);
    } finally {
      done(scope);
    }
  };
}
