/**
 * `Module`: a compiled WebAssembly module, from WAT text or a binary, with the types of its
 * imports and exports.
 *
 * Any thread. Compiled modules are cached per thread (by text, or by the binary's bytes), so
 * instantiating the same module again in a task costs no compilation; the cache is bounded by
 * count and bytes, least recently used out first (module-cache.ts). The types are read from the
 * binary (`binary-types.ts`), because Node 20 has no Wasm type reflection; the linker checks every
 * signature against them. A `Module` can be sent to another thread as `module.wasm` (a
 * `WebAssembly.Module` is structured-cloneable) together with `module.bytes`, and wrapped there
 * with `Module.fromCompiled(wasm, bytes)`, which reads the types again without compiling.
 *
 * Rejected: keeping only the compiled module and asking V8 for the types. Node 20's V8 has type
 * reflection only behind `--experimental-wasm-type-reflection`, which a library cannot require.
 */
import { describe } from '../options';
import { type ExportType, type ImportType, type ModuleTypes, readModuleTypes } from './binary-types';
import {
  binaryKey,
  defaultModuleCacheLimits,
  LruCache,
  type ModuleCacheLimits,
  type ModuleCacheStats,
  resolveModuleCacheLimits,
} from './module-cache';
import { watToBinary } from './wat';

/** This thread's compiled modules: texts under their text, binaries under `binaryKey`. */
const cache = new LruCache<Module>(defaultModuleCacheLimits);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The module's types from `bytes`, or `null` when V8 accepted a binary this reader does not know
 * (a proposal enabled by a V8 flag, such as Wasm GC types): the module still works, unchecked.
 */
function typesOf(bytes: Uint8Array): ModuleTypes | null {
  try {
    return readModuleTypes(bytes);
  } catch (err) {
    if (err instanceof WebAssembly.CompileError) return null;
    throw err;
  }
}

/** A compiled WebAssembly module. */
export class Module {
  /** The compiled module (cloneable to other threads). */
  readonly wasm: WebAssembly.Module;
  /** What the module imports, as `WebAssembly.Module.imports` reports it. */
  readonly imports: readonly WebAssembly.ModuleImportDescriptor[];
  /** What the module exports. */
  readonly exports: readonly WebAssembly.ModuleExportDescriptor[];
  /**
   * The binary the module was compiled from (send it with `wasm` to another thread), or `null`
   * for `Module.fromCompiled` without bytes.
   */
  readonly bytes: Uint8Array | null;
  /**
   * The types of every import and export, or `null` when they are unknown: a module from
   * `fromCompiled` without its bytes, or one that uses a proposal beyond what Node 20 validates by
   * default. Without them, `getTypedFunc` checks only the number of parameters, `instantiate`
   * leaves host functions unchecked (V8 still checks Wasm functions, memories, tables and globals
   * with a `LinkError`), and `getTable`/`getGlobal` need the type given explicitly.
   */
  readonly types: ModuleTypes | null;

  private constructor(wasm: WebAssembly.Module, bytes: Uint8Array | null, types: ModuleTypes | null) {
    this.wasm = wasm;
    this.imports = WebAssembly.Module.imports(wasm);
    this.exports = WebAssembly.Module.exports(wasm);
    this.bytes = bytes;
    this.types = types;
  }

  /**
   * Compiles WAT text, with every proposal that Node 20 (V8 11.3) validates: reference types,
   * threads, bulk memory, multi-value, tail calls, SIMD, exception handling, sign extension,
   * saturating float-to-int conversions and mutable globals (see `WAT_FEATURES`). Throws
   * `SyntaxError` for bad text.
   */
  static fromText(wat: string): Module {
    if (typeof wat !== 'string') throw new TypeError(`Module.fromText: expected WAT text, received ${typeof wat}`);
    const hit = cache.get(wat);
    if (hit !== undefined) return hit;
    const bytes = watToBinary(wat);
    const mod = new Module(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), bytes, typesOf(bytes));
    cache.set(wat, mod, wat.length + bytes.length);
    return mod;
  }

  /** Compiles a Wasm binary. Throws `WebAssembly.CompileError` for a bad one. */
  static fromBinary(bytes: Uint8Array | ArrayBuffer): Module {
    if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer)) {
      throw new TypeError(`Module.fromBinary: expected a Uint8Array or ArrayBuffer, received ${describe(bytes)}`);
    }
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    const key = binaryKey(view);
    const hit = cache.get(key, (m) => sameBytes(m.bytes!, view));
    if (hit !== undefined) return hit;
    const own = view.slice(); // the caller may change its buffer later
    const mod = new Module(new WebAssembly.Module(own as Uint8Array<ArrayBuffer>), own, typesOf(own));
    cache.set(key, mod, own.length);
    return mod;
  }

  /**
   * Sets the limits of this thread's module cache, the one `fromText` and `fromBinary` answer
   * from, and returns the limits in force; with no argument, only returns them. Omitted fields
   * keep their value. Defaults: 256 modules and 64 MiB (67108864 bytes) of binaries and WAT texts.
   * Whenever the cache would pass either limit, its least recently used modules are dropped (a
   * `Module` already handed out stays valid; the next `fromText` of its text compiles it again),
   * and a module bigger than the byte limit on its own is not kept. `{ modules: 0 }` turns the
   * cache off. Each thread has its own cache and limits: a pool worker sets its own, in
   * its task file. Bad limits: `TypeError` or `RangeError` naming the limit and the value received.
   */
  static cacheLimits(limits?: Partial<ModuleCacheLimits>): ModuleCacheLimits {
    if (limits !== undefined) cache.limits = resolveModuleCacheLimits(limits, cache.limits);
    return cache.limits;
  }

  /** What this thread's module cache holds now (modules, bytes), and its hits, misses and evictions so far. */
  static cacheStats(): ModuleCacheStats {
    return cache.stats();
  }

  /**
   * Wraps a module compiled elsewhere (for example `module.wasm` received from another thread).
   * Pass its `bytes` too (`module.bytes`) to keep the type checks; they are read, not compiled
   * again, and must be the same module's (its imports and exports are compared), else `TypeError`.
   */
  static fromCompiled(wasm: WebAssembly.Module, bytes?: Uint8Array | null): Module {
    if (!(wasm instanceof WebAssembly.Module))
      throw new TypeError(`Module.fromCompiled: expected a WebAssembly.Module, received ${describe(wasm)}`);
    if (bytes === undefined || bytes === null) return new Module(wasm, null, null);
    if (!(bytes instanceof Uint8Array))
      throw new TypeError(`Module.fromCompiled: bytes must be a Uint8Array or omitted, received ${describe(bytes)}`);
    const own = bytes.slice();
    const types = readModuleTypes(own);
    const differs = describeDifference(wasm, types);
    if (differs !== null) throw new TypeError(`Module.fromCompiled: the bytes are not this module's (${differs})`);
    return new Module(wasm, own, types);
  }

  /** The type of the import `module`.`name`, or `undefined` if unknown. */
  importType(module: string, name: string): ImportType | undefined {
    return this.types?.imports.find((i) => i.module === module && i.name === name);
  }

  /** The type of the export `name`, or `undefined` if unknown. */
  exportType(name: string): ExportType | undefined {
    return this.types?.exports.find((e) => e.name === name);
  }
}

function describeDifference(wasm: WebAssembly.Module, types: ModuleTypes): string | null {
  const imports = WebAssembly.Module.imports(wasm);
  const exports = WebAssembly.Module.exports(wasm);
  const a = imports.map((i) => `${i.module}.${i.name}:${i.kind}`);
  const b = types.imports.map((i) => `${i.module}.${i.name}:${i.kind}`);
  if (a.join('\n') !== b.join('\n')) return `imports ${b.join(', ') || 'none'} against ${a.join(', ') || 'none'}`;
  const c = exports.map((e) => `${e.name}:${e.kind}`);
  const d = types.exports.map((e) => `${e.name}:${e.kind}`);
  if (c.join('\n') !== d.join('\n')) return `exports ${d.join(', ') || 'none'} against ${c.join(', ') || 'none'}`;
  return null;
}
