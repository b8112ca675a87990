/**
 * A store's batch of reserved slots: where `ExternRef.new` takes a slot without a round trip.
 *
 * The store's thread only. The coordinator grants slots in batches (never more than half of what
 * is free); the store takes them first in, first out from a ring, and a slot it recycles itself
 * (a temporary that died before it was posted) goes to the back of the ring, so it is reused only
 * after every other slot of the batch (handle.ts says why that matters: a stale handle is refused
 * for a number of reuses of its slot). When a quarter of a batch is used the next one is requested
 * without waiting, and collected when this one runs out: by then the coordinator has usually
 * answered, so `new` rarely waits for a grant (at half, a Wasm loop making a value per call used
 * half a batch in ~300 µs, about the round trip).
 *
 * Rejected: a stack (the first design), which reused the slot freed last at once and so put every
 * generation on a few slots.
 */
import type { SlotIndex } from '../shared/handle';
import { NO_SLOT } from '../shared/slot-table';
import type { Connection } from './connection';

/** An empty batch. */
const NO_SLOTS = new Int32Array(0);

/** One store's reserved slots. */
export class SlotBatch {
  readonly #conn: Connection;
  readonly #size: number;
  /** The ring: `#slots[#head …]` for `#count` slots (mod its length, a power of two). */
  #slots: Int32Array = NO_SLOTS;
  #head = 0;
  #count = 0;
  /** Slots left at which the next batch is requested: three quarters of the batch as granted. */
  #prefetchAt = 0;

  /** Batches of `size` slots, asked for over `conn`. */
  constructor(conn: Connection, size: number) {
    this.#conn = conn;
    this.#size = size;
  }

  /** A reserved slot index for a new value, or -1 when the heap is full. */
  take(): SlotIndex {
    const n = this.#count;
    if (n === this.#prefetchAt && n > 0 && !this.#conn.pending('grant')) this.#conn.begin('grant', this.#size);
    if (n === 0) return this.#refill();
    const head = this.#head;
    this.#head = (head + 1) & (this.#slots.length - 1);
    this.#count = n - 1;
    return this.#slots[head]! as SlotIndex;
  }

  /** The batch ran out: take the next one (prefetched, or asked for now); -1 when the heap is full. */
  #refill(): SlotIndex {
    let next = this.#conn.pending('grant') ? this.#conn.finish('grant') : NO_SLOTS;
    // An empty answer may be stale (the heap was full when it was asked, and a collection may
    // have run since): only a fresh one means out of memory.
    if (next.length === 0) next = this.#conn.sync('grant', this.#size);
    if (next.length === 0) return NO_SLOT;
    if (this.#slots.length < next.length) this.#slots = new Int32Array(2 ** Math.ceil(Math.log2(next.length)));
    this.#slots.set(next);
    this.#head = 1;
    this.#count = next.length - 1;
    this.#prefetchAt = next.length - (next.length >> 2);
    return next[0]! as SlotIndex;
  }

  /** Puts a reserved slot back, last in line (a failed construction, a recycled temporary). */
  give(index: SlotIndex): void {
    if (this.#count === this.#slots.length) this.#grow();
    this.#slots[(this.#head + this.#count++) & (this.#slots.length - 1)] = index;
  }

  /** Doubles the ring, keeping its order. */
  #grow(): void {
    const old = this.#slots;
    const bigger = new Int32Array(Math.max(16, old.length * 2));
    for (let k = 0; k < this.#count; k++) bigger[k] = old[(this.#head + k) & (old.length - 1)]!;
    this.#slots = bigger;
    this.#head = 0;
  }

  /** Forgets every slot (the store closed: the coordinator reclaims them). */
  clear(): void {
    this.#slots = NO_SLOTS;
    this.#head = 0;
    this.#count = 0;
  }
}
