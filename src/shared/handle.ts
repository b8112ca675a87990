/**
 * Raw handles: the `u32` that names an object in every thread of a heap.
 *
 * Any thread. A handle packs the slot index in the low `indexBits` bits and the slot's
 * generation in the `generationBits` above them (any bits above those are 0). Generations run
 * 1 … `maxGeneration` (2^generationBits − 1) and then wrap back to 1, never to 0, so no valid
 * handle is 0 and 0 can mean null (as `to_raw` returns for a null reference in Wasmtime).
 *
 * The guarantee (I1), exactly: a slot's generation moves on each time the slot is freed, so the
 * handle of a freed object is refused until its slot has been reused `maxGeneration` times since
 * it was freed; only then can it name the slot's object of the moment. With the default split of
 * a 65536-slot heap, that is 65 535 reuses of that one slot. Slots are reused in first-in,
 * first-out order (the coordinator's free list, and each store's batch), so a slot is reused only
 * after every other free slot of its list: the bound, in objects the heap creates, is roughly
 * `maxGeneration` times the free slots.
 *
 * The split is chosen per heap: `indexBits = ceil(log2(capacity))`, and `generationBits` every bit
 * above (16 for the default 65536 slots) unless the heap's `generationBits` option narrows it.
 * Rejected: retiring a slot when its generation would wrap (the first design). It bounded a heap's
 * life to about 2^32 objects (minutes at the host-string workload's rate), after which every `new`
 * failed however much was free. Also rejected: a fixed 20/12 split.
 *
 * Handles are untrusted numbers: decoding never implies validity; `SlotTable.check` does that.
 */

/** A raw handle: slot index and generation packed in a `u32`; `0` is null. */
export type RawHandle = number & { readonly __brand: 'sharedref.RawHandle' };

/**
 * A slot's index in the slot table (0 … capacity − 1), or `NO_SLOT` (−1) where a lookup may fail.
 * Type only: it keeps slot indices, handles and word offsets from being passed for one another.
 */
export type SlotIndex = number & { readonly __brand: 'sharedref.SlotIndex' };

/** How one heap splits its handles. */
export interface HandleCodec {
  readonly indexBits: number;
  readonly indexMask: number;
  /** Bits of the generation above the index. */
  readonly generationBits: number;
  /** The largest generation; after it a slot's generation wraps to 1. */
  readonly maxGeneration: number;
}

/** The fewest generation bits a heap may have: a stale handle is refused for at least 3 reuses. */
export const MIN_GENERATION_BITS = 2;

/**
 * The codec for a heap of `capacity` slots with `generationBits` bits of generation (default:
 * every bit above the index).
 */
export function handleCodec(capacity: number, generationBits?: number): HandleCodec {
  const indexBits = Math.max(1, Math.ceil(Math.log2(capacity)));
  const bits = generationBits ?? 32 - indexBits;
  if (!Number.isInteger(bits) || bits < MIN_GENERATION_BITS || bits > 32 - indexBits) {
    throw new RangeError(
      `a heap of capacity ${capacity} has ${MIN_GENERATION_BITS} to ${32 - indexBits} generation bits, ` +
        `received ${bits}`,
    );
  }
  return {
    indexBits,
    indexMask: (1 << indexBits) - 1,
    generationBits: bits,
    maxGeneration: 2 ** bits - 1,
  };
}

/** The generation after `generation`: one more, or back to 1 past the largest (a wrap). */
export function nextGeneration(codec: HandleCodec, generation: number): number {
  return generation >= codec.maxGeneration ? 1 : generation + 1;
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
