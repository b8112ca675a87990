/**
 * Slot ownership on the coordinator: the free list, batches granted to stores, and freeing slots
 * with a new generation (which wraps back to 1 past the largest, see handle.ts).
 *
 * Coordinator thread only: it is the single writer of S_GEN for FREE slots and of the
 * FREE/RESERVED states, which is what makes a generation bump race-free. Stores only move their
 * own RESERVED slots to LIVE (and recycle their own unposted ones), and any thread moves a LIVE
 * slot to DYING with the decrement that reaches 0.
 *
 * The free list is first-in, first-out: a freed slot goes to the back and grants take from the
 * front, so a slot is reused only after every other free slot, which is what makes a stale
 * handle's bound (maxGeneration reuses of its slot) as long in time as it can be. Rejected: a
 * stack (the first design), which handed the slot freed last out first and so put every
 * generation on a few slots.
 */
import { InternalError } from '../errors';
import { countDisposed, createdCount, disposedCount } from './header';
import {
  H_FREE_LIST,
  H_WRAPS,
  OWNER_STORE_MASK,
  S_COUNT,
  S_GEN,
  S_OWNER,
  S_STATE,
  S_TAG,
  SLOT_DYING,
  SLOT_FREE,
  SLOT_LIVE,
  SLOT_RESERVED,
} from './layout';
import type { SlotIndex } from './handle';
import type { SlotTable } from './slot-table';

/** Tag written into freed slots in debug mode, so a use after free is recognisable. */
export const POISON_TAG = 0x7fde_adde;

/** The coordinator's free list and grant bookkeeping. */
export class SlotManager {
  readonly #t: SlotTable;
  readonly #i32: Int32Array;
  /** The free list: a ring of slot indices, `#free[#head … #head + #count)` (mod capacity). */
  readonly #free: Int32Array;
  #head = 0;
  #count: number;
  readonly #poison: boolean;
  /** Slots freed since the last `publish()`. */
  #disposed = 0;
  /** Generation wraps since the last `publish()`. */
  #wraps = 0;

  constructor(table: SlotTable, poison: boolean) {
    this.#t = table;
    this.#i32 = table.i32;
    this.#poison = poison;
    this.#free = new Int32Array(table.capacity);
    for (let i = 0; i < table.capacity; i++) {
      Atomics.store(this.#i32, table.word(i as SlotIndex, S_GEN), 1);
      this.#free[i] = i; // low indices first
    }
    this.#count = table.capacity;
    this.#publishFree();
  }

  /** Slots on the free list. */
  get freeCount(): number {
    return this.#count;
  }

  /**
   * Reserves up to `want` free slots for `storeId` and returns their indices, the first to use
   * last (the store takes from the end). Never more than half of what is free (at least one), so
   * one store's batch cannot starve the others. A typed array: the reply that carries it is copied
   * as one block, where a JS array of 1024 numbers cost ~35 µs to serialize (the host-string workload).
   */
  grant(storeId: number, want: number): Int32Array {
    const n = Math.min(want, this.#count, Math.max(1, this.#count >> 1));
    const out = new Int32Array(n);
    const capacity = this.#free.length;
    for (let k = 0; k < n; k++) {
      const index = this.#free[this.#head]! as SlotIndex;
      this.#head = this.#head + 1 === capacity ? 0 : this.#head + 1;
      Atomics.store(this.#i32, this.#t.word(index, S_OWNER), storeId);
      Atomics.store(this.#i32, this.#t.word(index, S_STATE), SLOT_RESERVED);
      out[k] = index;
    }
    this.#count -= n;
    this.#publishFree();
    return out;
  }

  /**
   * Frees a DYING slot after its value was disposed: moves its generation on so every old handle
   * fails `check` from now on, within the bound of handle.ts (I1), and puts it at the back of the
   * free list. The shared counters (disposed, wraps, free list) are published by `publish()`, once
   * per collection.
   */
  free(index: SlotIndex): void {
    this.#release(index);
    this.#disposed++;
  }

  /**
   * Returns a RESERVED slot that its store never filled (the store died or closed), keeping its
   * generation: no object ever had the slot's current handle, so no stale handle can name what
   * comes next, and the bound of handle.ts counts only real reuses. (Moving the generation here
   * wrapped a slot after a few store closes with no object in between: a freed object's handle
   * then named a new object after 0 reuses.) Use `reclaimNamed` when a construction knows it.
   */
  reclaim(index: SlotIndex): void {
    const t = this.#t;
    if (this.#poison) Atomics.store(this.#i32, t.word(index, S_TAG), POISON_TAG);
    Atomics.store(this.#i32, t.word(index, S_OWNER), 0);
    Atomics.store(this.#i32, t.word(index, S_STATE), SLOT_FREE);
    this.#append(index);
    this.#publishFree();
  }

  /**
   * `reclaim` for a RESERVED slot whose generation a construction in place (`newWith`) was given:
   * the generation moves on as at a free, so that construction can never fill the slot again
   * once another store with the same id reserves it.
   */
  reclaimNamed(index: SlotIndex): void {
    this.#release(index);
    this.#publishFree();
  }

  /**
   * Publishes what `free` counted: the disposed counter (until now live objects were
   * over-counted, never under-counted) and the free list's length.
   */
  publish(): void {
    if (this.#disposed > 0) countDisposed(this.#i32, this.#disposed);
    if (this.#wraps > 0) Atomics.add(this.#i32, H_WRAPS, this.#wraps);
    this.#disposed = 0;
    this.#wraps = 0;
    this.#publishFree();
  }

  #release(index: SlotIndex): void {
    // One kernel call clears the slot and moves its generation on.
    if (this.#t.freeSlot(index, this.#poison ? POISON_TAG : 0)) this.#wraps++;
    this.#append(index);
  }

  /** Puts `index` at the back of the free list. */
  #append(index: SlotIndex): void {
    const capacity = this.#free.length;
    const tail = this.#head + this.#count;
    this.#free[tail >= capacity ? tail - capacity : tail] = index;
    this.#count++;
  }

  #publishFree(): void {
    Atomics.store(this.#i32, H_FREE_LIST, this.#count);
  }

  /** Indices of every slot in `state` owned by `storeId` (a full scan: used when a store dies). */
  ownedBy(storeId: number, states: readonly number[]): SlotIndex[] {
    const out: SlotIndex[] = [];
    const t = this.#t;
    for (let k = 0; k < t.capacity; k++) {
      const i = k as SlotIndex;
      if ((Atomics.load(this.#i32, t.word(i, S_OWNER)) & OWNER_STORE_MASK) !== storeId) continue;
      if (states.includes(Atomics.load(this.#i32, t.word(i, S_STATE)))) out.push(i);
    }
    return out;
  }

  /** Debug mode: throws if the slot table breaks an invariant. Returns the counts by state. */
  checkInvariants(): Record<string, number> {
    const t = this.#t;
    const byState = [0, 0, 0, 0];
    // Stores keep publishing (R_CREATED += 1, then state LIVE) and recycling their own unposted
    // slots (state RESERVED, then R_DISPOSED += 1) while this scan runs. A slot seen LIVE or DYING
    // was created before the scan ended and disposed after it began, and one live throughout is
    // seen, so: created before − disposed after − publishes in flight ≤ seen ≤ created after −
    // disposed before. (Only this thread frees otherwise.)
    const layout = this.#t.layout;
    const disposedBefore = disposedCount(this.#i32, layout);
    const createdBefore = createdCount(this.#i32, layout);
    for (let k = 0; k < t.capacity; k++) {
      const i = k as SlotIndex;
      const state = Atomics.load(this.#i32, t.word(i, S_STATE));
      const count = Atomics.load(this.#i32, t.word(i, S_COUNT));
      byState[state] = (byState[state] ?? 0) + 1;
      if (
        state === SLOT_FREE &&
        (count !== 0 ||
          (this.#poison &&
            Atomics.load(this.#i32, t.word(i, S_TAG)) !== POISON_TAG &&
            Atomics.load(this.#i32, t.word(i, S_GEN)) > 1))
      ) {
        throw new InternalError(`invariant: free slot ${i} has count ${count} or lost its poison`);
      }
      if (state === SLOT_LIVE && count < 0) throw new InternalError(`invariant: live slot ${i} has count ${count}`);
      if (state === SLOT_DYING && count !== 0)
        throw new InternalError(`invariant: dying slot ${i} has count ${count} (I2)`);
    }
    if (byState[SLOT_FREE] !== this.#count) {
      throw new InternalError(`invariant: ${byState[SLOT_FREE]} free slots but the free list holds ${this.#count}`);
    }
    const createdAfter = createdCount(this.#i32, layout);
    const disposedAfter = disposedCount(this.#i32, layout);
    const seen = byState[SLOT_LIVE]! + byState[SLOT_DYING]!;
    const upper = createdAfter - disposedBefore;
    const lower = createdBefore - disposedAfter - layout.maxStores;
    if (seen > upper || seen < lower) {
      throw new InternalError(
        `invariant: the scan saw ${byState[SLOT_LIVE]} live + ${byState[SLOT_DYING]} dying slots, outside ` +
          `${lower}..${upper} from the counters`,
      );
    }
    return { free: byState[0]!, reserved: byState[1]!, live: byState[2]!, dying: byState[3]! };
  }
}
