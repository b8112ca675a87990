/**
 * Raw handles: the `u32` that names an object in every thread of a heap.
 *
 * Any thread. A handle packs the slot index in the low `indexBits` bits and the slot's
 * generation in the rest. Generations start at 1, so no valid handle is 0 and 0 can mean null
 * (as `to_raw` returns for a null reference in Wasmtime). A slot whose generation would pass
 * `maxGeneration` is retired instead of reused, so a freed handle never becomes valid again (I2).
 *
 * The split is chosen per heap: `indexBits = ceil(log2(capacity))`, leaving the most generation
 * bits the capacity allows (16 for the default 65536 slots). Rejected: a fixed 20/12 split, which
 * retires slots after 4095 reuses even in small heaps.
 *
 * Handles are untrusted numbers: decoding never implies validity; `SlotTable.check` does that.
 */

/** A raw handle: slot index and generation packed in a `u32`; `0` is null. */
export type RawHandle = number & { readonly __brand: 'sharedref.RawHandle' };

/** How one heap splits its handles. */
export interface HandleCodec {
  readonly indexBits: number;
  readonly indexMask: number;
  readonly maxGeneration: number;
}

/** The codec for a heap of `capacity` slots. */
export function handleCodec(capacity: number): HandleCodec {
  const indexBits = Math.max(1, Math.ceil(Math.log2(capacity)));
  if (indexBits > 24) throw new RangeError(`capacity ${capacity} leaves fewer than 8 generation bits`);
  return {
    indexBits,
    indexMask: (1 << indexBits) - 1,
    maxGeneration: 2 ** (32 - indexBits) - 1,
  };
}

/** Packs a slot index and generation; `generation` must be in 1 … maxGeneration. */
export function encodeHandle(codec: HandleCodec, index: number, generation: number): RawHandle {
  return ((generation * 2 ** codec.indexBits + index) >>> 0) as RawHandle;
}

/** The slot index a handle names (not checked). */
export function handleIndex(codec: HandleCodec, handle: number): number {
  return handle & codec.indexMask;
}

/** The generation a handle carries (not checked). */
export function handleGeneration(codec: HandleCodec, handle: number): number {
  return (handle >>> 0) >>> codec.indexBits;
}

/** What `rawHandle` answers for a value that is not a handle. */
export const NOT_A_HANDLE = -1;

/**
 * The `u32` that a raw handle given as `x` spells, or `NOT_A_HANDLE`. Two forms are accepted,
 * everywhere a raw handle enters: the `u32` itself, and the `i32` with the same bits (Wasm gives
 * `i32` results signed, and `Int32Array` reads them so, so a handle with bit 31 set arrives
 * negative). Anything else is refused: a non-number, a fraction, NaN, ±Infinity, a number outside
 * both ranges (such as `h + 2**32`), a bigint, a string. `0` (or `-0`) is null.
 */
export function rawHandle(x: unknown): number {
  if (typeof x !== 'number') return NOT_A_HANDLE;
  const u = x >>> 0;
  return u === x || (x | 0) === x ? u : NOT_A_HANDLE;
}
