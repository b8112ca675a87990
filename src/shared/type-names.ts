/**
 * Type tags: what `typeOf()` answers without a round trip.
 *
 * Any thread reads; only the coordinator interns new names. Tags below `BUILTIN_TYPES.length`
 * name the types a structured clone can produce (so a store can tag its own `new` values with no
 * help, and the coordinator re-tags a value a `dataMut` commit changed); higher tags are
 * constructor names of values built in place by `newWith`, which only the coordinator sees. It
 * writes a name's UTF-8 bytes whole into the shared arena and its entry, then publishes the new
 * count with `Atomics.store(H_TYPE_COUNT)`; a reader that loads the count sees both.
 *
 * Rejected: fixed 64-byte slots per name (the first design). Longer names were cut, sometimes
 * inside a character, and two names sharing their first 64 bytes read the same.
 */
import { H_TYPE_COUNT, type Layout, TYPE_NAME_ARENA_BYTES, TYPE_NAMES_MAX } from './layout';

/** Names with fixed tags; index = tag. Tag 0 means "no value yet". */
export const BUILTIN_TYPES: readonly string[] = Object.freeze([
  '',
  'undefined',
  'null',
  'boolean',
  'number',
  'bigint',
  'string',
  'Object',
  'Array',
  'Map',
  'Set',
  'Date',
  'RegExp',
  'Error',
  'EvalError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'TypeError',
  'URIError',
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'Boolean',
  'Number',
  'String',
  'BigInt',
  'Blob',
  'Module',
  'Function',
]);

const builtinTag = new Map(BUILTIN_TYPES.map((name, tag) => [name, tag] as const));
const TAG_OBJECT = builtinTag.get('Object')!;

/** The type name of a value as `typeOf()` reports it: `typeof`, or the constructor's name for objects. */
export function typeNameOf(value: unknown): string {
  if (value === null) return 'null';
  const t = typeof value;
  if (t !== 'object') return t;
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'Object';
}

/** The tag of a structured-cloneable value (its clone can only be of a builtin type). */
export function builtinTagOf(value: unknown): number {
  return builtinTag.get(typeNameOf(value)) ?? TAG_OBJECT;
}

/** How a store learns a name the shared table could not hold: it asks the coordinator (once). */
export type TypeNameLookup = (tag: number) => string;

/**
 * Reads tags back into names, caching them locally; the coordinator also interns new ones. Any
 * thread reads; only the coordinator interns. Names come back whole: a name is stored in the
 * shared table when it fits, and otherwise known only to the coordinator, which any store asks
 * once (`lookup`).
 */
export class TypeNames {
  readonly #i32: Int32Array;
  /** Word offset of the entries. */
  readonly #entries: number;
  readonly #arena: Uint8Array;
  readonly #names: string[] = [...BUILTIN_TYPES];
  /** Names above the shared table's tags: asked for once, or (coordinator) interned there. */
  readonly #overflow = new Map<number, string>();
  readonly #lookup: TypeNameLookup | null;
  readonly #decoder = new TextDecoder();
  // Coordinator side:
  readonly #encoder = new TextEncoder();
  readonly #tags = new Map<string, number>(BUILTIN_TYPES.map((name, tag) => [name, tag] as const));
  #arenaTop = 0;
  #nextOverflow = BUILTIN_TYPES.length + TYPE_NAMES_MAX;

  /** `lookup` answers a tag above the shared table's (stores pass a call to the coordinator). */
  constructor(i32: Int32Array, layout: Layout, lookup: TypeNameLookup | null = null) {
    this.#i32 = i32;
    this.#entries = layout.typeNamesByte / 4;
    this.#arena = new Uint8Array(i32.buffer, layout.typeNamesByte + TYPE_NAMES_MAX * 4, TYPE_NAME_ARENA_BYTES);
    this.#lookup = lookup;
  }

  /** The name of `tag`, or `'unknown'` for a tag never given out. */
  name(tag: number): string {
    const known = this.#names[tag];
    if (known !== undefined) return known;
    if (tag < BUILTIN_TYPES.length + TYPE_NAMES_MAX) {
      const count = Atomics.load(this.#i32, H_TYPE_COUNT);
      for (let t = this.#names.length; t < BUILTIN_TYPES.length + count; t++) {
        const entry = Atomics.load(this.#i32, this.#entries + t - BUILTIN_TYPES.length) >>> 0;
        const at = entry & 0xffff;
        this.#names.push(this.#decoder.decode(this.#arena.subarray(at, at + (entry >>> 16))));
      }
      return this.#names[tag] ?? 'unknown';
    }
    let name = this.#overflow.get(tag);
    if (name === undefined && this.#lookup !== null) {
      name = this.#lookup(tag);
      this.#overflow.set(tag, name);
    }
    return name ?? 'unknown';
  }

  /** Coordinator only: the tag for `name`, interning it if new. */
  intern(name: string): number {
    const existing = this.#tags.get(name);
    if (existing !== undefined) return existing;
    const count = this.#i32[H_TYPE_COUNT]!;
    const bytes = this.#encoder.encode(name);
    let tag: number;
    if (count < TYPE_NAMES_MAX && bytes.length <= TYPE_NAME_ARENA_BYTES - this.#arenaTop) {
      this.#arena.set(bytes, this.#arenaTop);
      Atomics.store(this.#i32, this.#entries + count, this.#arenaTop | (bytes.length << 16));
      this.#arenaTop += bytes.length;
      Atomics.store(this.#i32, H_TYPE_COUNT, count + 1); // publishes the bytes and the entry above
      tag = BUILTIN_TYPES.length + count;
      this.#names[tag] = name;
    } else {
      // The table or the arena is full: a tag of the coordinator's own, asked for by stores.
      tag = this.#nextOverflow++;
      this.#overflow.set(tag, name);
    }
    this.#tags.set(name, tag);
    return tag;
  }
}
