/**
 * Type tags: what `typeOf()` answers without a round trip.
 *
 * Any thread reads; only the coordinator interns new names. Tags below `BUILTIN_TYPES.length`
 * name the types a structured clone can produce (so a store can tag its own `new` values with no
 * help); higher tags are constructor names of values built in place by `newWith`, which only the
 * coordinator sees. It writes the name's bytes into the shared table, then publishes the new
 * count with `Atomics.store(H_TYPE_COUNT)`; a reader that loads the count sees the bytes.
 */
import { H_TYPE_COUNT, type Layout, TYPE_NAME_BYTES, TYPE_NAMES_MAX } from './layout';

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

/** Reads tags back into names, caching the shared table locally. Any thread. */
export class TypeNames {
  readonly #i32: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #names: string[] = [...BUILTIN_TYPES];
  readonly #decoder = new TextDecoder();
  readonly #encoder = new TextEncoder();

  constructor(i32: Int32Array, layout: Layout) {
    this.#i32 = i32;
    this.#bytes = new Uint8Array(i32.buffer, layout.typeNamesByte, TYPE_NAMES_MAX * TYPE_NAME_BYTES);
  }

  /** The name of `tag`, or `'unknown'` for a tag never published. */
  name(tag: number): string {
    const known = this.#names[tag];
    if (known !== undefined) return known;
    const count = Atomics.load(this.#i32, H_TYPE_COUNT);
    for (let t = this.#names.length; t < BUILTIN_TYPES.length + count; t++) {
      const off = (t - BUILTIN_TYPES.length) * TYPE_NAME_BYTES;
      const raw = this.#bytes.subarray(off, off + TYPE_NAME_BYTES);
      const end = raw.indexOf(0);
      this.#names.push(this.#decoder.decode(raw.subarray(0, end < 0 ? TYPE_NAME_BYTES : end)));
    }
    return this.#names[tag] ?? 'unknown';
  }

  /** Coordinator only: the tag for `name`, interning it if new. Full table → the `Object` tag. */
  intern(name: string): number {
    const existing = this.#names.indexOf(name);
    if (existing > 0) return existing;
    const count = this.#i32[H_TYPE_COUNT]!;
    if (count >= TYPE_NAMES_MAX) return TAG_OBJECT;
    const off = count * TYPE_NAME_BYTES;
    const encoded = this.#encoder.encode(name).subarray(0, TYPE_NAME_BYTES);
    this.#bytes.fill(0, off, off + TYPE_NAME_BYTES);
    this.#bytes.set(encoded, off);
    Atomics.store(this.#i32, H_TYPE_COUNT, count + 1); // publishes the bytes above
    this.#names.push(name);
    return BUILTIN_TYPES.length + count;
  }
}
