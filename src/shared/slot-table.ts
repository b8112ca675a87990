/**
 * Slot metadata and reference counts: every count change in sharedref goes through here.
 *
 * Any thread. Stores call `cloneHeld`, `tryCloneRaw`, `drop`, `publishNew`; the coordinator
 * calls `popReleased`, `free`, `grant`. The counts are sequentially consistent `Atomics`
 * operations on `S_COUNT` (Wasmtime's `ExternRef::strong_count` loads with SeqCst; so do we).
 *
 * The count changes and the validations of untrusted handles run in the count kernel (kernel.ts):
 * Wasm atomics on the heap's shared memory, one JS→Wasm call per operation.
 *
 * Kill safety. A worker can be terminated at any point. In JS that includes between two
 * `Atomics` calls; in Wasm, V8 delivers termination only at function entries and loop
 * back-edges, never between two instructions of one function that calls nothing (kernel.ts).
 * Each pair of writes that must not be split (claim a release-queue position and fill it;
 * increment a count and record the root that owns it; move a count into or out of a transfer)
 * sits in one such straight-line kernel function, and is ordered so that a split could only
 * leak, never double-release: count before record on the way in, record before count on the way
 * out.
 */
import { InternalError } from '../errors';
import {
  type HandleCodec,
  type RawHandle,
  type SlotIndex,
  handleCodec,
  handleGeneration,
  handleIndex,
  encodeHandle,
} from './handle';
import { type Kernel, RECYCLED, kernelFor } from './kernel';
import {
  H_RQ_HEAD,
  H_RQ_TAIL,
  type Layout,
  type WordOffset,
  OWNER_STORE_MASK,
  OWNER_UNPOSTED,
  OWNER_WANTED,
  S_COUNT,
  S_GEN,
  S_OWNER,
  S_STATE,
  S_TAG,
  S_VERSION,
  SLOT_RESERVED,
  SLOT_WORDS,
} from './layout';

/** Index returned by lookups that failed. */
export const NO_SLOT = -1 as SlotIndex;

/** The state words of a transfer entry that one send moves through: `free` → `claimed` → `inFlight`. */
export interface TransferSend {
  readonly free: number;
  readonly claimed: number;
  readonly inFlight: number;
}

/** The state words of a transfer entry that an adoption or a release moves: `inFlight` → `free`. */
export interface TransferReturn {
  readonly inFlight: number;
  readonly free: number;
}

/** What a transfer parks: one count of slot `index` (handle `handle`) for store `owner`, with its task tag. */
export interface TransferParcel {
  readonly index: SlotIndex;
  readonly handle: RawHandle;
  readonly owner: number;
  readonly tag: number;
}

/** A double decrement is a bug in sharedref; the kernel restored the count (I6). */
function belowZero(index: number): never {
  throw new InternalError(`count of slot ${index} went below zero`);
}

/** The shared slot table and release queue of one heap, seen from one thread. */
export class SlotTable {
  readonly i32: Int32Array;
  readonly layout: Layout;
  readonly codec: HandleCodec;
  readonly capacity: number;
  /** Word offset of slot 0. Kept as a field: the hot paths read it on every call. */
  readonly #slots: number;
  readonly #k: Kernel;

  /** The slot table of the heap whose metadata is `memory` (laid out as `layout`). */
  constructor(memory: WebAssembly.Memory, layout: Layout) {
    this.i32 = new Int32Array(memory.buffer);
    this.layout = layout;
    this.codec = handleCodec(layout.capacity, layout.generationBits);
    this.capacity = layout.capacity;
    this.#slots = layout.slots;
    this.#k = kernelFor(memory, layout, this.codec.indexBits);
  }

  /** Word offset of field `field` of slot `index`. */
  word(index: SlotIndex, field: number): WordOffset {
    return (this.#slots + index * SLOT_WORDS + field) as WordOffset;
  }

  /**
   * The slot index of `handle` if it names a live object right now, else NO_SLOT. A snapshot:
   * only a count held by the caller keeps the answer true afterwards.
   */
  check(handle: number): SlotIndex {
    if (typeof handle !== 'number' || handle >>> 0 !== handle || handle === 0) return NO_SLOT;
    return this.#k.check(handle) as SlotIndex;
  }

  /** The slot index a handle names (not checked). */
  indexOf(handle: number): SlotIndex {
    return handleIndex(this.codec, handle) as SlotIndex;
  }

  /** The handle of the value now in slot `index` (for the coordinator and owners). */
  handleOf(index: SlotIndex): RawHandle {
    return encodeHandle(this.codec, index, Atomics.load(this.i32, this.#slots + index * SLOT_WORDS + S_GEN));
  }

  /**
   * Adds a count to a slot whose count the caller already holds (cloning a root) and records it
   * in the caller's root entry at word `entryWord`, in this order and in this one function.
   */
  cloneHeld(index: SlotIndex, entryWord: WordOffset, handle: RawHandle): void {
    // The caller's own count keeps this slot LIVE, so no check is needed and 0 cannot be revived.
    this.#k.clone_held(index, entryWord * 4, handle);
  }

  /**
   * Adds a count for an untrusted raw handle (Wasmtime's `clone_from_raw`), or returns NO_SLOT.
   * Refuses count 0 (I2) and re-reads the generation after the increment: if the slot was freed
   * and reused between the first check and the increment, the increment landed on another
   * object, so it is undone with an ordinary `drop` and the handle is reported invalid (I1).
   */
  tryCloneRaw(handle: number, entryWord: WordOffset): SlotIndex {
    if (typeof handle !== 'number' || handle >>> 0 !== handle || handle === 0) return NO_SLOT;
    // No state check: only a LIVE slot has a positive count (FREE, RESERVED and DYING
    // slots hold 0, and a slot is published LIVE right after its count is set), and the kernel's
    // compare-exchange refuses 0. It checks the generation before and after the increment and
    // records the entry right after it, before anything can fail.
    return this.#k.clone_raw(handle, entryWord * 4) as SlotIndex;
  }

  /**
   * The slot of `handle` if it names a live object now (generation matches, count above 0), or
   * NO_SLOT; takes no count. For borrowed roots, which re-check on every use.
   */
  liveIndexOf(handle: number): SlotIndex {
    if (typeof handle !== 'number' || handle >>> 0 !== handle || handle === 0) return NO_SLOT;
    return this.#k.live_index(handle) as SlotIndex;
  }

  /**
   * Gives back one count, first clearing the root entry at `entryWord` that recorded it (pass -1
   * when no entry does: the coordinator releasing a drained region). The thread whose decrement
   * reaches 0 marks the slot DYING and queues it for the coordinator (I2, I3). Returns the count
   * that remains.
   */
  drop(index: SlotIndex, entryWord: WordOffset | -1): number {
    // The kernel clears the entry, decrements, and if that was the last count marks the slot
    // DYING, claims a queue position and fills it: straight-line, so no kill can leave a hole.
    const before = this.#k.drop(index, entryWord < 0 ? -1 : entryWord * 4);
    if (before <= 0) belowZero(index);
    return before - 1;
  }

  /**
   * `drop` by the store `storeId`, which recycles the slot itself if this was the last count of
   * a value it created and never posted, and nobody waits for (see the kernel's `drop_own`): then
   * the answer is true and the slot is RESERVED for the store again, with a new generation, and
   * counted in the store's disposed counter at `disposedWord`. Otherwise the same as `drop`.
   */
  dropOwn(index: SlotIndex, entryWord: WordOffset, storeId: number, disposedWord: WordOffset): boolean {
    const before = this.#k.drop_own(index, entryWord * 4, storeId, disposedWord * 4);
    if (before === RECYCLED) return true;
    if (before <= 0) belowZero(index);
    return false;
  }

  /**
   * Releases an in-flight transfer whose state word is at word `stateWord`: compare-exchanges it
   * from `states.inFlight` to `states.free` and, if that won, gives back the transfer's count of slot `index`,
   * both in one kernel call (a kill between them would leak the count). False if the transfer was
   * adopted or released already.
   */
  releaseTransfer(stateWord: WordOffset, states: TransferReturn, index: SlotIndex): boolean {
    const r = this.#k.release_transfer(stateWord * 4, states.inFlight, states.free, index);
    if (r < 0) belowZero(index);
    return r === 1;
  }

  /**
   * Claims the transfer entry at word `entryWord` (state `states.free` → `states.claimed`), parks
   * `parcel` there (one new count of its slot, for its owner and tag), and publishes it as
   * `states.inFlight`, in one kernel call (a kill between the count and the publication would leak
   * the count). False if the entry was taken first.
   */
  sendTransfer(entryWord: WordOffset, states: TransferSend, parcel: TransferParcel): boolean {
    const { handle, owner, tag, index } = parcel;
    return (
      this.#k.send_transfer(entryWord * 4, states.free, states.claimed, states.inFlight, handle, owner, tag, index) ===
      1
    );
  }

  /**
   * Adopts the transfer at word `entryWord` (state `states.inFlight` → `states.free`) into the root
   * entry at word `rootWord`, recording `handle` there, in one kernel call (a kill between them
   * would lose the count). False if the transfer was adopted or released already.
   */
  adoptTransfer(entryWord: WordOffset, states: TransferReturn, rootWord: WordOffset, handle: RawHandle): boolean {
    return this.#k.adopt_transfer(entryWord * 4, states.inFlight, states.free, rootWord * 4, handle) === 1;
  }

  /** The current count of slot `index` (sequentially consistent). */
  count(index: SlotIndex): number {
    return Atomics.load(this.i32, this.#slots + index * SLOT_WORDS + S_COUNT);
  }

  /** The generation now in slot `index`. */
  generation(index: SlotIndex): number {
    return Atomics.load(this.i32, this.#slots + index * SLOT_WORDS + S_GEN);
  }

  /** The state of slot `index` (one of SLOT_*). */
  state(index: SlotIndex): number {
    return Atomics.load(this.i32, this.#slots + index * SLOT_WORDS + S_STATE);
  }

  /** Coordinator only: the value of slot `index` changed; returns the new version (caches revalidate). */
  bumpVersion(index: SlotIndex): number {
    return Atomics.add(this.i32, this.#slots + index * SLOT_WORDS + S_VERSION, 1) + 1;
  }

  /** The version word of slot `index`. */
  version(index: SlotIndex): number {
    return Atomics.load(this.i32, this.#slots + index * SLOT_WORDS + S_VERSION);
  }

  /** Coordinator only: the committed value of slot `index` has the type of tag `tag` now (typeOf). */
  setTag(index: SlotIndex, tag: number): void {
    Atomics.store(this.i32, this.#slots + index * SLOT_WORDS + S_TAG, tag);
  }

  /** The type tag of slot `index`. */
  tag(index: SlotIndex): number {
    return Atomics.load(this.i32, this.#slots + index * SLOT_WORDS + S_TAG);
  }

  /**
   * A store turns one of its RESERVED slots into a live value with one count (I5: it fills a
   * slot the coordinator reserved for it). Count, tag and the creator's root entry are written
   * before the state that publishes them, so `check` never sees a LIVE slot without its count.
   */
  publishNew(index: SlotIndex, tag: number, entryWord: WordOffset, createdWord: WordOffset): RawHandle {
    // Tag, count 1 (the version stays as the slot's freeing left it), the creating store's
    // `R_CREATED` at `createdWord` (first: live objects may be over-counted for a moment, never
    // under-counted; checked in debug mode), the root entry, the UNPOSTED flag (the value is
    // still to be posted), and last the LIVE state.
    return (this.#k.publish(index, tag, entryWord * 4, createdWord * 4, OWNER_UNPOSTED) >>> 0) as RawHandle;
  }

  /**
   * `publishNew` for a value the coordinator built in place (`newWith`): it holds the value
   * already, so the slot is never UNPOSTED and its store cannot recycle it.
   */
  publishBuilt(index: SlotIndex, tag: number, entryWord: WordOffset, createdWord: WordOffset): RawHandle {
    return (this.#k.publish(index, tag, entryWord * 4, createdWord * 4, 0) >>> 0) as RawHandle;
  }

  /**
   * The creating store is about to post the value of slot `index`: from now on only the
   * coordinator frees the slot (it holds the value), so the store may no longer recycle it.
   */
  markPosted(index: SlotIndex): void {
    Atomics.and(this.i32, this.#slots + index * SLOT_WORDS + S_OWNER, ~OWNER_UNPOSTED);
  }

  /**
   * Whether a request at the coordinator waits for the value of `handle` (see `markWanted`) while
   * the slot still holds that object (dead or not). The creating store posts such a value even if
   * the object died meanwhile: the request was accepted while it lived, and is answered with it.
   */
  isWanted(handle: number): boolean {
    const index = handleIndex(this.codec, handle);
    if (index >= this.capacity) return false;
    const base = this.#slots + index * SLOT_WORDS;
    return (
      (Atomics.load(this.i32, base + S_OWNER) & OWNER_WANTED) !== 0 &&
      Atomics.load(this.i32, base + S_GEN) === handleGeneration(this.codec, handle)
    );
  }

  /**
   * Coordinator only: a request will wait for the value of `handle` (slot `index`), which has
   * not arrived. Sets WANTED, so that the creating store can no longer recycle the slot, and then
   * reads the count: false if it is already 0 (the object is gone, or was recycled before the
   * flag landed), and the request must fail now rather than wait for a value that never comes.
   */
  markWanted(index: SlotIndex, handle: number): boolean {
    const base = this.#slots + index * SLOT_WORDS;
    Atomics.or(this.i32, base + S_OWNER, OWNER_WANTED);
    return (
      Atomics.load(this.i32, base + S_COUNT) > 0 &&
      Atomics.load(this.i32, base + S_GEN) === handleGeneration(this.codec, handle)
    );
  }

  /** True when slot `index` is reserved for `storeId` (the coordinator checks before filling it). */
  isReservedFor(index: number, generation: number, storeId: number): boolean {
    if (index < 0 || index >= this.capacity) return false;
    const base = this.#slots + index * SLOT_WORDS;
    return (
      Atomics.load(this.i32, base + S_STATE) === SLOT_RESERVED &&
      (Atomics.load(this.i32, base + S_OWNER) & OWNER_STORE_MASK) === storeId &&
      Atomics.load(this.i32, base + S_GEN) === generation
    );
  }

  /**
   * Coordinator only: the next released slot index, or NO_SLOT when the queue is empty (or its
   * next position is claimed but not yet filled — the next call will find it).
   */
  popReleased(): SlotIndex {
    const index = this.#k.pop_released();
    if (index < -1) throw new InternalError(`released slot ${-index - 2} is not dying`);
    return index as SlotIndex;
  }

  /**
   * Coordinator only: clears slot `index` (writing `tag` as its type tag), moves its generation on
   * and makes it FREE. True when the generation wrapped back to 1 (see handle.ts).
   */
  freeSlot(index: SlotIndex, tag: number): boolean {
    return this.#k.free_slot(index, tag) === 2;
  }

  /** Released slots waiting in the queue (approximate while producers run). */
  pendingReleases(): number {
    return (Atomics.load(this.i32, H_RQ_TAIL) - Atomics.load(this.i32, H_RQ_HEAD)) | 0;
  }
}
