/**
 * The types of a Wasm module's imports and exports, read from its binary.
 *
 * Any thread. Node 20 has no Wasm type reflection (`WebAssembly.Module.imports` gives names and
 * kinds only), yet the linker must compare a host signature with the module's own types before
 * anything runs (Wasmtime's `typed()` and its linker do). So this reads the few sections that
 * carry them: type (1), import (2), function (3), table (4), memory (5), tag (13), global (6) and
 * export (7). Every other section is skipped by its size, so reading costs no more than the
 * header of each section plus these tables, whatever the size of the code.
 *
 * The grammar is the one V8 11.3 (Node 20) validates without flags: value types `i32 i64 f32
 * f64 v128 funcref externref`, function types only (no Wasm GC type forms), 32-bit limits. Anything
 * else, and any malformed input, is a `WebAssembly.CompileError` naming what was expected, what
 * arrived and the byte offset. Every loop is bounded by the bytes left, so no input makes it hang.
 *
 * Rejected: the `wabt` package's binary reader. It initialises asynchronously (it is itself Wasm,
 * so `Module.fromBinary` would need the compiler thread that `fromText` uses, and a round trip),
 * and it gives text, not types: the text would have to be parsed again.
 */

/** A value type as the module declares it. */
export type WasmValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

/** The reference types a table may hold. */
export type WasmRefType = 'funcref' | 'externref';

/** A function type: parameters and results. */
export interface FuncType {
  /** Parameter types, in order. */
  readonly params: readonly WasmValType[];
  /** Result types, in order. */
  readonly results: readonly WasmValType[];
}

/** A table type. */
export interface TableType {
  /** What its elements are. */
  readonly element: WasmRefType;
  /** Its initial (for an import: least) size, in elements. */
  readonly initial: number;
  /** Its maximum size, or `null` for none. */
  readonly maximum: number | null;
}

/** A memory type, in 64 KiB pages. */
export interface MemoryType {
  /** Its initial (for an import: least) size, in pages. */
  readonly initial: number;
  /** Its maximum size in pages, or `null` for none. */
  readonly maximum: number | null;
  /** Whether it is a shared memory. */
  readonly shared: boolean;
}

/** A global's type. */
export interface GlobalType {
  /** The type of its value. */
  readonly value: WasmValType;
  /** Whether it can be set. */
  readonly mutable: boolean;
}

/** What an import or export is, with its type. `kind` as `WebAssembly.Module.imports` names it. */
export type ExternType =
  | { readonly kind: 'function'; readonly type: FuncType }
  | { readonly kind: 'table'; readonly type: TableType }
  | { readonly kind: 'memory'; readonly type: MemoryType }
  | { readonly kind: 'global'; readonly type: GlobalType }
  | { readonly kind: 'tag'; readonly type: FuncType };

/** An import with its type. */
export type ImportType = { readonly module: string; readonly name: string } & ExternType;

/** An export with its type, and its index among the module's items of its kind (imports first). */
export type ExportType = { readonly name: string; readonly index: number } & ExternType;

/** Every import and export of a module, with their types, in the module's order. */
export interface ModuleTypes {
  /** The imports. */
  readonly imports: readonly ImportType[];
  /** The exports. */
  readonly exports: readonly ExportType[];
  /** The type section: every function type, by type index. */
  readonly signatures: readonly FuncType[];
  /** The type of every function, by function index (imported functions first). */
  readonly functions: readonly FuncType[];
  /** The type of every table, by table index (imported tables first). */
  readonly tables: readonly TableType[];
}

const SECTION = { type: 1, import: 2, function: 3, table: 4, memory: 5, global: 6, export: 7, tag: 13 } as const;

const VAL_TYPE_CODES: Readonly<Record<number, WasmValType>> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref',
};

const KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;

/** A cursor over the binary; every read checks the bytes left. */
class Reader {
  readonly #bytes: Uint8Array;
  #pos: number;
  #end: number;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#pos = 0;
    this.#end = bytes.length;
  }

  get pos(): number {
    return this.#pos;
  }

  get left(): number {
    return this.#end - this.#pos;
  }

  fail(what: string, at = this.#pos): never {
    throw new WebAssembly.CompileError(`wasm type reader: ${what} (at byte 0x${at.toString(16)})`);
  }

  /** Limits reads to the next `size` bytes (a section); returns the previous end. */
  narrow(size: number, what: string): number {
    if (size > this.left) this.fail(`${what} declares ${size} bytes but only ${this.left} are left`);
    const outer = this.#end;
    this.#end = this.#pos + size;
    return outer;
  }

  /** Ends a `narrow`: the section must have been read exactly to its end. */
  widen(outer: number, what: string): void {
    if (this.#pos !== this.#end) this.fail(`${what} has ${this.left} bytes after its last entry`);
    this.#end = outer;
  }

  byte(what: string): number {
    if (this.#pos >= this.#end) this.fail(`unexpected end of data, expected ${what}`);
    return this.#bytes[this.#pos++]!;
  }

  skip(n: number, what: string): void {
    if (n > this.left) this.fail(`unexpected end of data in ${what}`);
    this.#pos += n;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(what: string): number {
    const start = this.#pos;
    let result = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte(what);
      if (i === 4 && b > 0x0f) this.fail(`${what}: LEB128 value does not fit in 32 bits`, start);
      result += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return result;
    }
    return this.fail(`${what}: LEB128 longer than 5 bytes`, start);
  }

  /** A signed LEB128 of at most `bits` bits, skipped (constant expressions). */
  skipSigned(bits: number, what: string): void {
    const max = Math.ceil(bits / 7);
    for (let i = 0; i < max; i++) if ((this.byte(what) & 0x80) === 0) return;
    this.fail(`${what}: LEB128 longer than ${max} bytes`);
  }

  /** A vector's length: at most one entry per byte left, so a huge count fails at once. */
  count(what: string, minEntryBytes = 1): number {
    const at = this.#pos;
    const n = this.u32(`${what} count`);
    if (n * minEntryBytes > this.left) this.fail(`${what} count ${n} exceeds the ${this.left} bytes left`, at);
    return n;
  }

  name(what: string): string {
    const n = this.count(`${what} length`);
    const start = this.#pos;
    this.skip(n, what);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.#bytes.subarray(start, start + n));
    } catch {
      return this.fail(`${what} is not valid UTF-8`, start);
    }
  }
}

function valType(r: Reader, what: string): WasmValType {
  const at = r.pos;
  const code = r.byte(what);
  const t = VAL_TYPE_CODES[code];
  if (t === undefined) {
    const known = Object.entries(VAL_TYPE_CODES)
      .map(([c, n]) => `${n} (0x${Number(c).toString(16)})`)
      .join(', ');
    r.fail(`${what}: unknown value type 0x${code.toString(16)}; expected one of ${known}`, at);
  }
  return t;
}

function refType(r: Reader, what: string): WasmRefType {
  const at = r.pos;
  const t = valType(r, what);
  if (t !== 'funcref' && t !== 'externref') r.fail(`${what}: expected funcref or externref, got ${t}`, at);
  return t;
}

function limits(
  r: Reader,
  what: string,
  memory: boolean,
): { initial: number; maximum: number | null; shared: boolean } {
  const at = r.pos;
  const flags = r.byte(`${what} limits`);
  if (flags > (memory ? 3 : 1)) {
    const why = flags & 4 ? ' (64-bit memories are not supported)' : '';
    r.fail(`${what}: unknown limits flags 0x${flags.toString(16)}${why}`, at);
  }
  const initial = r.u32(`${what} initial size`);
  const maximum = flags & 1 ? r.u32(`${what} maximum size`) : null;
  if (maximum !== null && maximum < initial) r.fail(`${what}: maximum ${maximum} is below initial ${initial}`, at);
  if (flags === 2) r.fail(`${what}: a shared memory must declare a maximum`, at);
  return { initial, maximum, shared: (flags & 2) !== 0 };
}

function tableType(r: Reader, what: string): TableType {
  const element = refType(r, `${what} element type`);
  const { initial, maximum } = limits(r, what, false);
  return { element, initial, maximum };
}

function memoryType(r: Reader, what: string): MemoryType {
  return limits(r, what, true);
}

function globalType(r: Reader, what: string): GlobalType {
  const value = valType(r, `${what} value type`);
  const at = r.pos;
  const m = r.byte(`${what} mutability`);
  if (m > 1) r.fail(`${what}: mutability must be 0 or 1, got ${m}`, at);
  return { value, mutable: m === 1 };
}

/** Skips a constant expression up to and including its `end` (a global's initialiser). */
function skipConstExpr(r: Reader, what: string): void {
  for (;;) {
    const at = r.pos;
    const op = r.byte(`${what} instruction`);
    switch (op) {
      case 0x0b: // end
        return;
      case 0x41: // i32.const
        r.skipSigned(32, what);
        break;
      case 0x42: // i64.const
        r.skipSigned(64, what);
        break;
      case 0x43: // f32.const
        r.skip(4, what);
        break;
      case 0x44: // f64.const
        r.skip(8, what);
        break;
      case 0x23: // global.get
      case 0xd2: // ref.func
        r.u32(what);
        break;
      case 0xd0: // ref.null
        refType(r, what);
        break;
      case 0x6a: // i32.add, sub, mul; i64.add, sub, mul (extended constant expressions)
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        break;
      case 0xfd: {
        const sub = r.u32(what);
        if (sub !== 12) r.fail(`${what}: 0xfd ${sub} is not a constant instruction`, at);
        r.skip(16, what); // v128.const
        break;
      }
      default:
        r.fail(`${what}: opcode 0x${op.toString(16)} is not a constant instruction`, at);
    }
  }
}

function funcTypeAt(types: readonly FuncType[], index: number, r: Reader, what: string, at: number): FuncType {
  const t = types[index];
  if (t === undefined) r.fail(`${what}: type index ${index} is out of range (${types.length} types)`, at);
  return t;
}

/**
 * Reads the import and export types of the Wasm binary `bytes`. Throws
 * `WebAssembly.CompileError` for a malformed binary or a feature it does not know.
 */
export function readModuleTypes(bytes: Uint8Array): ModuleTypes {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('readModuleTypes: expected a Uint8Array');
  const r: Reader = new Reader(bytes);
  const magic = [r.byte('the magic number'), r.byte('the magic number'), r.byte('the magic number')];
  if (r.byte('the magic number') !== 0x6d || magic.join() !== '0,97,115')
    r.fail('not a Wasm binary: expected the magic number \\0asm', 0);
  const version = [0, 1, 2, 3].map(() => r.byte('the version')).join();
  if (version !== '1,0,0,0') r.fail(`unsupported binary version [${version}], expected [1,0,0,0]`, 4);

  const types: FuncType[] = [];
  const funcs: FuncType[] = [];
  const tables: TableType[] = [];
  const memories: MemoryType[] = [];
  const globals: GlobalType[] = [];
  const tags: FuncType[] = [];
  const imports: ImportType[] = [];
  const exports: ExportType[] = [];

  while (r.left > 0) {
    const at = r.pos;
    const id = r.byte('a section id');
    const size = r.u32(`section ${id} size`);
    const what = `section ${id}`;
    const outer = r.narrow(size, what);
    switch (id) {
      case SECTION.type:
        for (let n = r.count('type', 3), i = 0; i < n; i++) {
          const formAt = r.pos;
          const form = r.byte('a type form');
          if (form !== 0x60) {
            r.fail(
              `type ${i}: form 0x${form.toString(16)} is not a function type (0x60); Wasm GC types are not supported`,
              formAt,
            );
          }
          const params = Array.from({ length: r.count(`type ${i} params`) }, () => valType(r, `type ${i} param`));
          const results = Array.from({ length: r.count(`type ${i} results`) }, () => valType(r, `type ${i} result`));
          types.push({ params, results });
        }
        break;
      case SECTION.import:
        for (let n = r.count('import', 4), i = 0; i < n; i++) {
          const module = r.name(`import ${i} module name`);
          const name = r.name(`import ${i} name`);
          const w = `import ${JSON.stringify(module)} ${JSON.stringify(name)}`;
          const kindAt = r.pos;
          const kind = r.byte(`${w} kind`);
          switch (kind) {
            case 0: {
              const idxAt = r.pos;
              const type = funcTypeAt(types, r.u32(`${w} type index`), r, w, idxAt);
              funcs.push(type);
              imports.push({ module, name, kind: 'function', type });
              break;
            }
            case 1: {
              const type = tableType(r, w);
              tables.push(type);
              imports.push({ module, name, kind: 'table', type });
              break;
            }
            case 2: {
              const type = memoryType(r, w);
              memories.push(type);
              imports.push({ module, name, kind: 'memory', type });
              break;
            }
            case 3: {
              const type = globalType(r, w);
              globals.push(type);
              imports.push({ module, name, kind: 'global', type });
              break;
            }
            case 4: {
              const attrAt = r.pos;
              if (r.byte(`${w} tag attribute`) !== 0) r.fail(`${w}: tag attribute must be 0`, attrAt);
              const idxAt = r.pos;
              const type = funcTypeAt(types, r.u32(`${w} tag type index`), r, w, idxAt);
              tags.push(type);
              imports.push({ module, name, kind: 'tag', type });
              break;
            }
            default:
              r.fail(`${w}: unknown import kind 0x${kind.toString(16)}; expected 0 to 4`, kindAt);
          }
        }
        break;
      case SECTION.function:
        for (let n = r.count('function'), i = 0; i < n; i++) {
          const idxAt = r.pos;
          funcs.push(funcTypeAt(types, r.u32(`function ${i} type index`), r, `function ${i}`, idxAt));
        }
        break;
      case SECTION.table:
        for (let n = r.count('table', 2), i = 0; i < n; i++) tables.push(tableType(r, `table ${i}`));
        break;
      case SECTION.memory:
        for (let n = r.count('memory', 2), i = 0; i < n; i++) memories.push(memoryType(r, `memory ${i}`));
        break;
      case SECTION.tag:
        for (let n = r.count('tag', 2), i = 0; i < n; i++) {
          const attrAt = r.pos;
          if (r.byte(`tag ${i} attribute`) !== 0) r.fail(`tag ${i}: attribute must be 0`, attrAt);
          const idxAt = r.pos;
          tags.push(funcTypeAt(types, r.u32(`tag ${i} type index`), r, `tag ${i}`, idxAt));
        }
        break;
      case SECTION.global:
        for (let n = r.count('global', 3), i = 0; i < n; i++) {
          globals.push(globalType(r, `global ${i}`));
          skipConstExpr(r, `global ${i} initialiser`);
        }
        break;
      case SECTION.export:
        for (let n = r.count('export', 3), i = 0; i < n; i++) {
          const name = r.name(`export ${i} name`);
          const w = `export ${JSON.stringify(name)}`;
          const kindAt = r.pos;
          const kind = r.byte(`${w} kind`);
          const idxAt = r.pos;
          const index = r.u32(`${w} index`);
          const space = [funcs, tables, memories, globals, tags][kind];
          if (space === undefined) r.fail(`${w}: unknown export kind 0x${kind.toString(16)}; expected 0 to 4`, kindAt);
          const type = space[index];
          if (type === undefined) {
            r.fail(`${w}: ${KINDS[kind]} index ${index} is out of range (${space.length} defined)`, idxAt);
          }
          exports.push({ name, index, kind: KINDS[kind], type } as ExportType);
        }
        break;
      default:
        if (id > 13) r.fail(`unknown section id ${id}`, at);
        r.skip(size, what); // custom, start, element, code, data, data count
    }
    r.widen(outer, what);
  }
  return { imports, exports, signatures: types, functions: funcs, tables };
}

/** A function type in WAT notation, for messages: `(func (param i32 externref) (result i32))`. */
export function formatFuncType(t: { readonly params: readonly string[]; readonly results: readonly string[] }): string {
  const params = t.params.length > 0 ? ` (param ${t.params.join(' ')})` : '';
  const results = t.results.length > 0 ? ` (result ${t.results.join(' ')})` : '';
  return `(func${params}${results})`;
}

/** An import's or export's type in WAT notation, for messages. */
export function formatExternType(t: ExternType): string {
  switch (t.kind) {
    case 'function':
      return formatFuncType(t.type);
    case 'tag':
      return formatFuncType(t.type).replace('(func', '(tag');
    case 'table':
      return `(table ${limitsText(t.type)} ${t.type.element})`;
    case 'memory':
      return `(memory ${limitsText(t.type)}${t.type.shared ? ' shared' : ''})`;
    case 'global':
      return `(global ${t.type.mutable ? `(mut ${t.type.value})` : t.type.value})`;
  }
}

function limitsText(l: { readonly initial: number; readonly maximum: number | null }): string {
  return l.maximum === null ? `${l.initial}` : `${l.initial} ${l.maximum}`;
}
