/**
 * `Module`: a compiled WebAssembly module, from WAT text or a binary.
 *
 * Any thread. Compiled modules are cached per thread (by text, or by the binary's bytes), so
 * instantiating the same module again in a task costs no compilation. A `Module` can also be sent
 * to another thread inside a task's arguments as `module.wasm` (a `WebAssembly.Module` is
 * structured-cloneable) and wrapped there with `Module.fromCompiled`.
 */
import { watToBinary } from './wat';

const byText = new Map<string, Module>();
const byBytes = new Map<string, Module>();

function bytesKey(bytes: Uint8Array): string {
  // Cheap identity for the cache: length plus a FNV-1a hash of the bytes.
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return `${bytes.length}:${h >>> 0}`;
}

/** A compiled WebAssembly module. */
export class Module {
  /** The compiled module (cloneable to other threads). */
  readonly wasm: WebAssembly.Module;
  /** What the module imports, as `WebAssembly.Module.imports` reports it. */
  readonly imports: readonly WebAssembly.ModuleImportDescriptor[];
  /** What the module exports. */
  readonly exports: readonly WebAssembly.ModuleExportDescriptor[];

  private constructor(wasm: WebAssembly.Module) {
    this.wasm = wasm;
    this.imports = WebAssembly.Module.imports(wasm);
    this.exports = WebAssembly.Module.exports(wasm);
  }

  /**
   * Compiles WAT text (reference types, threads, bulk memory and multi-value enabled). Throws `SyntaxError` for bad
   * text.
   */
  static fromText(wat: string): Module {
    if (typeof wat !== 'string') throw new TypeError(`Module.fromText: expected WAT text, received ${typeof wat}`);
    const hit = byText.get(wat);
    if (hit !== undefined) return hit;
    const mod = new Module(new WebAssembly.Module(watToBinary(wat) as Uint8Array<ArrayBuffer>));
    byText.set(wat, mod);
    return mod;
  }

  /** Compiles a Wasm binary. Throws `WebAssembly.CompileError` for a bad one. */
  static fromBinary(bytes: Uint8Array | ArrayBuffer): Module {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    const key = bytesKey(view);
    const hit = byBytes.get(key);
    if (hit !== undefined) return hit;
    const mod = new Module(new WebAssembly.Module(view as Uint8Array<ArrayBuffer>));
    byBytes.set(key, mod);
    return mod;
  }

  /** Wraps a module compiled elsewhere (for example `module.wasm` received from another thread). */
  static fromCompiled(wasm: WebAssembly.Module): Module {
    if (!(wasm instanceof WebAssembly.Module))
      throw new TypeError('Module.fromCompiled: expected a WebAssembly.Module');
    return new Module(wasm);
  }
}
