/**
 * Call frames: the counts a store holds for the handles that host functions gave to guests.
 *
 * The thread of the store. A host function that returns a `handle` gives the guest a raw number,
 * and the store keeps one count for it, recorded as a (slot, root entry) pair on the store's
 * frame stack, with no root object. The counts of a typed call's frame are released when that
 * call returns (or traps). A guest may give one back earlier with `sharedref.drop(h)`: the
 * newest count of `h` in the current frame is released at once, so a guest loop that drops what
 * it gets runs in constant space however long the call. A host result kept while no typed call
 * runs (glue code, or `instance.exports.f()`, calling the guest itself) belongs to the bottom
 * frame, released when the current synchronous run of JS code ends (a microtask).
 *
 * Layout: four `i32` per kept count, `[slot, entry, handle, previous]`, where `previous` links to
 * the next older count of the same slot; `#head[slot]` is the newest. While a count is kept its
 * slot cannot change object, so every count of a chain is of one handle. A drop is O(1): the
 * newest count of the slot, if it lies in the current frame (at or above `#base`). A frame's
 * release walks it from the top, each count being its chain's head at that moment.
 *
 * Rules (I6): `sharedref.drop(h)` gives back a count the guest took with `sharedref.clone` first
 * (a guest that clones a result to keep it and later drops the handle means the clone), else the
 * newest count of `h` kept here in the current frame. A handle it got as an argument, a count
 * already given back, or a result of an outer call dropped from a nested one is not found here,
 * and the drop traps with nothing changed. Kill safety (I4): every kept count has its root entry
 * in the store's region like any root, so the coordinator releases it if the thread dies mid-call.
 *
 * Rejected: a `Rooted` per result in the typed call's scope (the first design): a root object,
 * a list push and a clone of the count per host call (about 90 ns of the seed loop's 575, issue
 * 19), and no way to drop one before the scope closed, so a loop calling an import that returns
 * a fresh value ran the heap out. Rejected too: a `Map` from handle to counts (an allocation
 * and a hash per host call), and a backwards scan on drop (quadratic for a guest that drops a
 * long list oldest first).
 */
import type { SlotIndex } from '../shared/handle';
import type { StoreCore } from '../store/internal';

const STRIDE = 4;
const F_SLOT = 0;
const F_ENTRY = 1;
const F_HANDLE = 2;
const F_PREV = 3;
/** `F_ENTRY` of a count already given back (by `drop`). */
const GONE = -1;

/** The frame stack of one store (see the module doc). */
export class CallFrames {
  readonly #core: StoreCore;
  #f = new Int32Array(64 * STRIDE);
  /** Newest kept count per slot (its position), or -1; made at the first `keep`. */
  #head: Int32Array | null = null;
  #top = 0;
  /** The first position of the current frame. */
  #base = 0;
  readonly #bases: number[] = [];
  /** Typed calls running on this store now. */
  depth = 0;
  #turnScheduled = false;

  constructor(core: StoreCore) {
    this.#core = core;
  }

  /** A typed call begins: a new frame. */
  enter(): void {
    this.#bases.push(this.#base);
    this.#base = this.#top;
    this.depth++;
  }

  /** A typed call ends (returned or trapped): its frame's counts are released. */
  leave(): void {
    this.#releaseFrom(this.#base);
    this.#base = this.#bases.pop() ?? 0;
    // A bottom frame's counts kept before this call go when this run of JS ends, as always.
    if (--this.depth === 0 && this.#top > 0) this.#scheduleTurn();
  }

  /** Counts kept now (all frames). */
  get size(): number {
    let n = 0;
    for (let t = 0; t < this.#top; t++) if (this.#f[t * STRIDE + F_ENTRY]! !== GONE) n++;
    return n;
  }

  /** Keeps the count of root entry `entry` (slot `index`, `handle`) in the current frame. */
  keep(index: number, handle: number, entry: number): void {
    const head = this.#head ?? this.#makeHead();
    const t = this.#top;
    if ((t + 1) * STRIDE > this.#f.length) this.#grow();
    const f = this.#f;
    const at = t * STRIDE;
    f[at + F_SLOT] = index;
    f[at + F_ENTRY] = entry;
    f[at + F_HANDLE] = handle;
    f[at + F_PREV] = head[index]!;
    head[index] = t;
    this.#top = t + 1;
    if (this.depth === 0 && !this.#turnScheduled) this.#scheduleTurn();
  }

  /**
   * `sharedref.drop(handle)` of a count a host function gave the guest in the current frame:
   * released now, and true; false if there is none (nothing changed).
   */
  drop(handle: number): boolean {
    const head = this.#head;
    if (head === null) return false;
    const index = this.#core.slots.indexOf(handle);
    if (index >= head.length) return false;
    const t = head[index]!;
    if (t < this.#base) return false; // none, or only in an outer frame
    const f = this.#f;
    const at = t * STRIDE;
    if (f[at + F_HANDLE]! >>> 0 !== handle) return false; // another generation of the slot
    const entry = f[at + F_ENTRY]!;
    head[index] = f[at + F_PREV]!;
    f[at + F_ENTRY] = GONE;
    // Trim given-back counts off the top, so a loop that drops each result stays at one.
    let top = this.#top;
    while (top > this.#base && f[(top - 1) * STRIDE + F_ENTRY] === GONE) top--;
    this.#top = top;
    this.#core.release(index, entry);
    return true;
  }

  /** Releases every count at positions `from` and above, newest first. */
  #releaseFrom(from: number): void {
    const f = this.#f;
    const head = this.#head;
    const core = this.#core;
    let t = this.#top;
    this.#top = from; // first: a release that throws must not leave counts to release twice
    while (t > from) {
      const at = --t * STRIDE;
      const entry = f[at + F_ENTRY]!;
      if (entry === GONE) continue;
      const index = f[at + F_SLOT]! as SlotIndex; // written by `keep` from a slot index
      head![index] = f[at + F_PREV]!;
      core.release(index, entry);
    }
  }

  #scheduleTurn(): void {
    this.#turnScheduled = true;
    queueMicrotask(() => {
      this.#turnScheduled = false;
      // Microtasks do not run inside a synchronous call; should one, the outermost `leave` reschedules.
      if (this.depth === 0) this.#releaseFrom(0);
    });
  }

  #makeHead(): Int32Array {
    const head = new Int32Array(this.#core.slots.capacity).fill(-1);
    this.#head = head;
    return head;
  }

  #grow(): void {
    const f = new Int32Array(this.#f.length * 2);
    f.set(this.#f);
    this.#f = f;
  }
}

const framesByCore = new WeakMap<StoreCore, CallFrames>();

/** The frame stack of the store whose core is `core`. */
export function framesOf(core: StoreCore): CallFrames {
  let frames = framesByCore.get(core);
  if (frames === undefined) framesByCore.set(core, (frames = new CallFrames(core)));
  return frames;
}
