/**
 * A hand-rolled thread-shared slab: the baseline of `seed-per-call-vs-slab`, the least a
 * competent embedder would write to give Wasm handles to host values with counts other threads
 * can change. Any thread; each thread that uses it makes its own `SharedSlab` on the shared memory.
 *
 * What it keeps of sharedref's guarantees, on the seed loop's operations:
 * - handles are `generation << 16 | index`, checked on every use: a stale or forged handle is
 *   refused (a trap in the guest), never another value (I1); a generation that would wrap
 *   retires its slot;
 * - counts live in a shared `WebAssembly.Memory` and change only through a small Wasm kernel of
 *   sequentially consistent atomics, so any thread could add and drop counts; count 0 is final
 *   and bumps the generation before the slot is reused (I2);
 * - a host function's result lives until the outer call returns, then its count is dropped and its
 *   slot recycled by the thread (the raw ABI's contract, and sharedref's own-store recycling).
 *
 * What it does not do, and sharedref does: values live in this thread's JS array, so no other
 * thread can read one (no cross-thread value access at all); nothing records which thread holds
 * which count, so a thread that dies leaks its counts (I4); no disposers, no collector, no
 * out-of-memory error that hands the value back, no root objects for JS (no `ERR_UNROOTED`
 * checks), no `clone`/`fromRaw` for guests (the seed loop does not use them).
 *
 * Rejected: measuring against wasm-bindgen's JS heap alone (the `slab-clone-drop` reference
 * figure). It has no counts in shared memory and no generations, so it is a floor, not a
 * design that could replace sharedref for threads.
 */
import { Module } from '../../src';

/** Index bits of a handle; the generation takes the 16 bits above. */
const INDEX_BITS = 16;
/** Slots in one slab memory. */
export const SLAB_CAPACITY = 1 << INDEX_BITS;
/** Slots a thread takes from the shared stock at a time. */
const BATCH = 1024;

/*
 * The shared memory, as a logical struct (byte offsets):
 *   i32 nextUnused;            // 0: the first slot no thread has taken yet (atomic add by `take`)
 *   i32 pad;
 *   struct { i32 count; i32 generation; } slots[SLAB_CAPACITY];   // from byte 8
 * A slot's count is changed with atomics by any thread holding a count; its generation is written
 * by the thread whose drop reached 0 (before the slot can be reused) and by `take` (first use).
 */
const SLOTS_AT = 8;
const PAGES = Math.ceil((SLOTS_AT + 8 * SLAB_CAPACITY) / 65536);

const KERNEL_WAT = `
(module
  (import "env" "memory" (memory ${PAGES} ${PAGES} shared))
  (func $at (param $i i32) (result i32)
    (i32.add (i32.const ${SLOTS_AT}) (i32.shl (local.get $i) (i32.const 3))))
  ;; Takes ${BATCH} never-used slots for the calling thread and gives them generation 1; returns the
  ;; first index, or -1 when the slab is full.
  (func (export "take") (result i32)
    (local $first i32) (local $i i32)
    (local.set $first (i32.atomic.rmw.add (i32.const 0) (i32.const ${BATCH})))
    (if (i32.gt_u (i32.add (local.get $first) (i32.const ${BATCH})) (i32.const ${SLAB_CAPACITY}))
      (then (return (i32.const -1))))
    (local.set $i (local.get $first))
    (loop $l
      (i32.atomic.store offset=4 (call $at (local.get $i)) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.add (local.get $first) (i32.const ${BATCH})))))
    (local.get $first))
  ;; Slot $i (free, owned by the calling thread) gets one count; returns its handle.
  (func (export "publish") (param $i i32) (result i32)
    (local $at i32)
    (local.set $at (call $at (local.get $i)))
    (i32.atomic.store (local.get $at) (i32.const 1))
    (i32.or (i32.shl (i32.atomic.load offset=4 (local.get $at)) (i32.const ${INDEX_BITS})) (local.get $i)))
  ;; The index of $h if its generation matches and its count is above 0; -1 otherwise.
  (func (export "check") (param $h i32) (result i32)
    (local $i i32) (local $at i32)
    (local.set $i (i32.and (local.get $h) (i32.const ${SLAB_CAPACITY - 1})))
    (local.set $at (call $at (local.get $i)))
    (if (i32.ne (i32.atomic.load offset=4 (local.get $at)) (i32.shr_u (local.get $h) (i32.const ${INDEX_BITS})))
      (then (return (i32.const -1))))
    (if (i32.eqz (i32.atomic.load (local.get $at))) (then (return (i32.const -1))))
    (local.get $i))
  ;; Gives back one count of $h (which the caller holds). Returns the index when this was the last
  ;; count and the slot can be reused (its generation bumped first), -2 when its generation would
  ;; wrap (the slot is retired), -1 when counts remain. Traps on a stale handle.
  (func (export "drop") (param $h i32) (result i32)
    (local $i i32) (local $at i32) (local $gen i32)
    (local.set $i (i32.and (local.get $h) (i32.const ${SLAB_CAPACITY - 1})))
    (local.set $at (call $at (local.get $i)))
    (if (i32.ne (i32.atomic.load offset=4 (local.get $at)) (i32.shr_u (local.get $h) (i32.const ${INDEX_BITS})))
      (then (unreachable)))
    (if (i32.ne (i32.atomic.rmw.sub (local.get $at) (i32.const 1)) (i32.const 1)) (then (return (i32.const -1))))
    (local.set $gen (i32.and (i32.add (i32.shr_u (local.get $h) (i32.const ${INDEX_BITS})) (i32.const 1))
      (i32.const 0xffff)))
    (i32.atomic.store offset=4 (local.get $at) (local.get $gen))
    (if (i32.eqz (local.get $gen)) (then (return (i32.const -2))))
    (local.get $i)))
`;

interface SlabKernel {
  take(): number;
  publish(index: number): number;
  check(handle: number): number;
  drop(handle: number): number;
}

/** A fresh shared memory for slabs; give it to every thread's `SharedSlab`. */
export function slabMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
}

function stale(handle: number): never {
  throw new RangeError(`shared slab: handle 0x${(handle >>> 0).toString(16)} is stale or forged`);
}

/** One thread's side of the slab: its values, its free slots, and the results of the running call. */
export class SharedSlab {
  readonly #kernel: SlabKernel;
  readonly #values: unknown[] = [];
  /** Free slots this thread owns (a stack). */
  readonly #free = new Int32Array(SLAB_CAPACITY);
  #freeTop = 0;
  /** Handles made during the running outer call, dropped when it returns. */
  readonly #results = new Int32Array(SLAB_CAPACITY);
  #resultTop = 0;

  constructor(memory: WebAssembly.Memory) {
    this.#kernel = new WebAssembly.Instance(Module.fromText(KERNEL_WAT).wasm, { env: { memory } })
      .exports as unknown as SlabKernel;
  }

  /** A handle for `value`, valid until the outer call running now returns. */
  result(value: unknown): number {
    if (this.#freeTop === 0) this.#refill();
    const index = this.#free[--this.#freeTop]!;
    this.#values[index] = value;
    const handle = this.#kernel.publish(index);
    this.#results[this.#resultTop++] = handle;
    return handle;
  }

  /** The value of a handle the caller borrows; throws (a trap, for the guest) if it is stale or forged. */
  get(handle: number): unknown {
    const index = this.#kernel.check(handle);
    if (index < 0) stale(handle);
    return this.#values[index];
  }

  /** Runs `fn` as an outer call: every result made during it is dropped when it returns. */
  call<T>(fn: () => T): T {
    const mark = this.#resultTop;
    try {
      return fn();
    } finally {
      this.#endCall(mark);
    }
  }

  #endCall(mark: number): void {
    const kernel = this.#kernel;
    for (let k = this.#resultTop - 1; k >= mark; k--) {
      const index = kernel.drop(this.#results[k]!);
      if (index >= 0) {
        this.#values[index] = undefined;
        this.#free[this.#freeTop++] = index;
      } else if (index === -2) {
        this.#values[(this.#results[k]! & (SLAB_CAPACITY - 1)) >>> 0] = undefined; // retired
      }
    }
    this.#resultTop = mark;
  }

  #refill(): void {
    const first = this.#kernel.take();
    if (first < 0) throw new RangeError(`shared slab: all ${SLAB_CAPACITY} slots are taken`);
    for (let i = first + BATCH - 1; i >= first; i--) this.#free[this.#freeTop++] = i;
  }
}
