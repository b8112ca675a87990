/**
 * The count kernel: the hot count operations of `SlotTable`, as one small Wasm module that runs
 * Wasm atomics directly on the heap's shared memory.
 *
 * Any thread; one instance per thread and heap (instances are cheap; the compiled module is
 * shared by every heap of the thread). The heap's metadata lives in a shared `WebAssembly.Memory`
 * so that this module can address it: its buffer is the `SharedArrayBuffer` every other part of
 * sharedref views as an `Int32Array`.
 *
 * Why Wasm. On this class of machine a JS `Atomics.add` or `Atomics.load` is a call into a V8
 * builtin that TurboFan does not inline: a clone (one add) plus a drop (one sub) cost ~18 ns, and
 * each `Atomics.load` of a validation ~5 ns more. One JS→Wasm call that does the whole operation
 * (validate, compare-exchange, record the root entry) costs about what one builtin call does, so
 * `fromRaw` pays one call instead of four. Rejected: plain (non-atomic) JS reads for validation,
 * which are cheap but give the JIT licence to reorder them around the count change that I1
 * depends on.
 *
 * Kill safety, the second reason for Wasm: V8 delivers `terminate()` to Wasm only at function
 * entries and loop back-edges, but to JS also between two `Atomics` builtin calls (measured: 148
 * of 300 terminations split two consecutive `Atomics.add`; 0 of 300 split them inside one Wasm
 * function; test/integration/kill-atomicity.test.ts). No function here calls another, and the
 * only loop (the compare-exchange retry of `clone_raw`) branches back before anything was
 * written.
 *
 * The binary is embedded (`KERNEL_WASM_BASE64` in kernel-binary.ts), because wabt cannot compile
 * synchronously and each thread needs the kernel before its first operation. `kernelWat()` is its
 * source, built from the layout constants; `npm run gen:kernel` compiles it into kernel-binary.ts
 * (nobody pastes a binary), and `test/unit/kernel.test.ts` fails if the two disagree, so a layout
 * change cannot leave a stale kernel behind.
 */
import {
  H_RQ_HEAD,
  H_RQ_TAIL,
  OWNER_UNPOSTED,
  R_DISPOSED,
  R_WRAPS,
  S_COUNT,
  S_GEN,
  S_OWNER,
  S_STATE,
  S_TAG,
  S_VERSION,
  SLOT_DYING,
  SLOT_FREE,
  SLOT_LIVE,
  SLOT_RESERVED,
  SLOT_WORDS,
  T_HANDLE,
  T_OWNER,
  T_STATE,
  T_TAG,
  type Layout,
} from './layout';
import { KERNEL_WASM_BASE64 } from './kernel-binary';

export { KERNEL_WASM_BASE64 };

/** The kernel's exports. Addresses are byte offsets into the heap's memory; -1 means "none". */
export interface Kernel {
  /** Sets the instance's view of the layout. Called once, by `kernelFor`. */
  init(slotsByte: number, rqByte: number, rqMask: number, capacity: number, indexBits: number, maxGen: number): void;
  /** Adds a count to slot `index` (the caller holds one), then writes `handle` at `entryByte`. */
  clone_held(index: number, entryByte: number, handle: number): void;
  /**
   * Clears `entryByte` (unless -1), then subtracts a count from slot `index`; if that was the last,
   * marks the slot DYING and queues it. Returns the count before (≤ 0: a double decrement, undone).
   */
  drop(index: number, entryByte: number): number;
  /**
   * `drop` by the store `owner`, which recycles the slot itself when it can: if this was the last
   * count and the slot's owner word is exactly `owner | OWNER_UNPOSTED` (this store created the
   * value, has not posted it, and no request waits for it), the owner word loses the flag by
   * compare-exchange, the generation moves on (wrapping to 1 past the largest, which adds one to
   * the store's wrap counter, the word after `disposedByte`) (I1, I2), the slot becomes RESERVED
   * for `owner` again, and the store's disposed counter at `disposedByte` grows by one; the result
   * is `RECYCLED`. Otherwise exactly as `drop`.
   */
  drop_own(index: number, entryByte: number, owner: number, disposedByte: number): number;
  /**
   * Releases an in-flight transfer: compare-exchanges the state word at `stateByte` from
   * `inFlight` to `free` and, if that won, drops one count of slot `index` as `drop` does.
   * Returns 1 (released), 0 (lost the race: adopted or released already) or -1 (a double decrement, undone).
   */
  release_transfer(stateByte: number, inFlight: number, free: number, index: number): number;
  /**
   * Sends a count of slot `index` (whose count the caller holds) through the transfer entry at
   * `entryByte`: compare-exchanges its state from `free` to `claimed`, writes handle, owner and
   * tag, adds the count, and publishes `inFlight`. Returns 1, or 0 if the entry was taken first.
   */
  send_transfer(
    entryByte: number,
    free: number,
    claimed: number,
    inFlight: number,
    handle: number,
    owner: number,
    tag: number,
    index: number,
  ): number;
  /**
   * Adopts the transfer at `entryByte`: compare-exchanges its state from `inFlight` to `free`
   * and, if that won, writes `handle` into the root entry at `rootByte`. Returns 1, or 0 if the
   * transfer was adopted or released already.
   */
  adopt_transfer(entryByte: number, inFlight: number, free: number, rootByte: number, handle: number): number;
  /** `fromRaw`'s count: the slot index of live `handle` with a count added and `entryByte` written, or -1. */
  clone_raw(handle: number, entryByte: number): number;
  /** The slot index of `handle` if its generation matches and its count is above 0, else -1. */
  live_index(handle: number): number;
  /**
   * Coordinator only: takes the next released slot off the queue. Returns its index, -1 when the
   * queue is empty (or its next position is claimed but not yet filled), or -(index + 2) when
   * the slot it took is not DYING (a bug in sharedref).
   */
  pop_released(): number;
  /**
   * Coordinator only: clears a DYING slot whose value was disposed (count, version, owner, tag
   * `tag`), moves its generation on, so no old handle validates again within the bound of
   * handle.ts (I1), and makes it FREE. Returns 1, or 2 when the generation wrapped to 1.
   */
  free_slot(index: number, tag: number): number;
  /** The slot index of `handle` if its generation matches and the slot is LIVE, else -1. */
  check(handle: number): number;
  /**
   * Publishes reserved slot `index` as LIVE with one count, tag `tag` and its root at
   * `entryByte`, counting it in the creating store's counter at `createdByte`, and sets `flags`
   * (0 or `OWNER_UNPOSTED`) in its owner word; returns the handle.
   */
  publish(index: number, tag: number, entryByte: number, createdByte: number, flags: number): number;
}

/** What `drop_own` answers when the store recycled the slot itself (never a count). */
export const RECYCLED = -0x40000000;

/** The kernel's WAT source for the current layout constants (kernel-binary.ts is this, compiled). */
export function kernelWat(): string {
  const SLOT_BYTES = SLOT_WORDS * 4;
  const COUNT = S_COUNT * 4;
  const GEN = S_GEN * 4;
  const STATE = S_STATE * 4;
  const TAG = S_TAG * 4;
  const VERSION = S_VERSION * 4;
  const OWNER = S_OWNER * 4;
  // drop_own finds the store's R_WRAPS at this offset from its R_DISPOSED.
  const WRAPS_AFTER_DISPOSED = (R_WRAPS - R_DISPOSED) * 4;
  // Snippets are written out in each function instead of called: a call would be a point where
  // a terminate() could land in the middle of an operation.
  const slot = (i: string): string =>
    `(i32.add (global.get $slots) (i32.mul (local.get ${i}) (i32.const ${SLOT_BYTES})))`;
  // Gives back one count of slot $i (base address $b), leaving the count before in $before; if
  // that was the last, runs `onLast` (which may return), then marks the slot DYING, claims a
  // release-queue position and fills it. A decrement from 0 or below is a bug: it is undone, and
  // the caller reports it.
  const dropCountThen = (onLast: string): string => `
    (local.set $before (i32.atomic.rmw.sub offset=${COUNT} (local.get $b) (i32.const 1)))
    (if (i32.eq (local.get $before) (i32.const 1))
      (then${onLast}
        (i32.atomic.store offset=${STATE} (local.get $b) (i32.const ${SLOT_DYING}))
        (local.set $pos (i32.atomic.rmw.add (i32.const ${H_RQ_TAIL * 4}) (i32.const 1)))
        (i32.atomic.store
          (i32.add (global.get $rq) (i32.shl (i32.and (local.get $pos) (global.get $rqMask)) (i32.const 2)))
          (i32.add (local.get $i) (i32.const 1)))))
    (if (i32.le_s (local.get $before) (i32.const 0))
      (then (drop (i32.atomic.rmw.add offset=${COUNT} (local.get $b) (i32.const 1)))))`;
  const dropCount = dropCountThen('');
  // drop_own's `onLast`: the store `$owner` takes the slot back itself (see `Kernel.drop_own`).
  const recycleOwn = `
        ;; Only from exactly owner|UNPOSTED: a WANTED bit set by the coordinator fails this.
        (if (i32.eq
              (i32.atomic.rmw.cmpxchg offset=${OWNER} (local.get $b)
                (i32.or (local.get $owner) (i32.const ${OWNER_UNPOSTED})) (local.get $owner))
              (i32.or (local.get $owner) (i32.const ${OWNER_UNPOSTED})))
          (then
            (local.set $gen (i32.add (i32.atomic.load offset=${GEN} (local.get $b)) (i32.const 1)))
            ;; Past the largest generation, back to 1 (never 0), counted in the store's R_WRAPS.
            (if (i32.gt_u (local.get $gen) (global.get $maxGen))
              (then
                (local.set $gen (i32.const 1))
                (i32.atomic.store offset=${WRAPS_AFTER_DISPOSED} (local.get $disposed)
                  (i32.add (i32.atomic.load offset=${WRAPS_AFTER_DISPOSED} (local.get $disposed)) (i32.const 1)))))
            ;; The generation before the state: a reader that sees RESERVED sees the new one.
            (i32.atomic.store offset=${TAG} (local.get $b) (i32.const 0))
            ;; The version moves on, never back: once generations wrap, a handle comes back for a
            ;; later object, and read caches are keyed by handle and version.
            (drop (i32.atomic.rmw.add offset=${VERSION} (local.get $b) (i32.const 1)))
            (i32.atomic.store offset=${GEN} (local.get $b) (local.get $gen))
            (i32.atomic.store offset=${STATE} (local.get $b) (i32.const ${SLOT_RESERVED}))
            ;; Disposed after the state: live (created - disposed) over-counts for a moment.
            (i32.atomic.store (local.get $disposed) (i32.add (i32.atomic.load (local.get $disposed)) (i32.const 1)))
            (return (i32.const ${RECYCLED}))))`;
  // The slot of handle $h into $i (base address $b) if its index is in range and its generation
  // current; otherwise the function returns -1.
  const resolve = `
    (local $i i32) (local $b i32)
    (local.set $i (i32.and (local.get $h) (global.get $indexMask)))
    (if (i32.ge_u (local.get $i) (global.get $capacity)) (then (return (i32.const -1))))
    (local.set $b ${slot('$i')})
    (if (i32.ne (i32.atomic.load offset=${GEN} (local.get $b)) (i32.shr_u (local.get $h) (global.get $bits)))
      (then (return (i32.const -1))))`;
  // The generation read again after the word that `live_index` or `check` looked at: if the slot
  // was freed and reused in between, the word may belong to the next object, but then the
  // generation has moved on (it comes back only after maxGen reuses), so the answer is -1.
  const recheck = `
    (if (i32.ne (i32.atomic.load offset=${GEN} (local.get $b)) (i32.shr_u (local.get $h) (global.get $bits)))
      (then (return (i32.const -1))))`;
  return `(module
  (import "sharedref" "memory" (memory 1 65536 shared))
  (global $slots (mut i32) (i32.const 0))
  (global $rq (mut i32) (i32.const 0))
  (global $rqMask (mut i32) (i32.const 0))
  (global $capacity (mut i32) (i32.const 0))
  (global $bits (mut i32) (i32.const 0))
  (global $indexMask (mut i32) (i32.const 0))
  (global $maxGen (mut i32) (i32.const 0))
  (func (export "init")
      (param $slots i32) (param $rq i32) (param $rqMask i32) (param $capacity i32) (param $bits i32) (param $maxGen i32)
    (global.set $maxGen (local.get $maxGen))
    (global.set $slots (local.get $slots))
    (global.set $rq (local.get $rq))
    (global.set $rqMask (local.get $rqMask))
    (global.set $capacity (local.get $capacity))
    (global.set $bits (local.get $bits))
    (global.set $indexMask (i32.sub (i32.shl (i32.const 1) (local.get $bits)) (i32.const 1))))
  (func (export "clone_held") (param $i i32) (param $entry i32) (param $h i32)
    (drop (i32.atomic.rmw.add offset=${COUNT} ${slot('$i')} (i32.const 1)))
    (i32.store (local.get $entry) (local.get $h)))
  (func (export "drop") (param $i i32) (param $entry i32) (result i32)
    (local $b i32) (local $before i32) (local $pos i32)
    (if (i32.ge_s (local.get $entry) (i32.const 0)) (then (i32.store (local.get $entry) (i32.const 0))))
    (local.set $b ${slot('$i')})${dropCount}
    (local.get $before))
  (func (export "drop_own") (param $i i32) (param $entry i32) (param $owner i32) (param $disposed i32) (result i32)
    (local $b i32) (local $before i32) (local $pos i32) (local $gen i32)
    (if (i32.ge_s (local.get $entry) (i32.const 0)) (then (i32.store (local.get $entry) (i32.const 0))))
    (local.set $b ${slot('$i')})${dropCountThen(recycleOwn)}
    (local.get $before))
  (func (export "release_transfer")
      (param $stateAt i32) (param $inFlight i32) (param $free i32) (param $i i32) (result i32)
    (local $b i32) (local $before i32) (local $pos i32)
    ;; Exactly one of adopt and release wins this compare-exchange; the winner here gives the
    ;; transfer's count back in the same function, so a kill cannot land between the two.
    (if (i32.ne (i32.atomic.rmw.cmpxchg (local.get $stateAt) (local.get $inFlight) (local.get $free))
                (local.get $inFlight))
      (then (return (i32.const 0))))
    (local.set $b ${slot('$i')})${dropCount}
    (if (i32.le_s (local.get $before) (i32.const 0)) (then (return (i32.const -1))))
    (i32.const 1))
  (func (export "send_transfer") (param $at i32) (param $free i32) (param $claimed i32) (param $inFlight i32)
      (param $h i32) (param $owner i32) (param $tag i32) (param $i i32) (result i32)
    (if (i32.ne (i32.atomic.rmw.cmpxchg offset=${T_STATE * 4} (local.get $at) (local.get $free) (local.get $claimed))
                (local.get $free))
      (then (return (i32.const 0))))
    (i32.atomic.store offset=${T_HANDLE * 4} (local.get $at) (local.get $h))
    (i32.atomic.store offset=${T_OWNER * 4} (local.get $at) (local.get $owner))
    (i32.atomic.store offset=${T_TAG * 4} (local.get $at) (local.get $tag))
    ;; The caller's own count keeps the slot live, so a plain add is enough.
    (drop (i32.atomic.rmw.add offset=${COUNT} ${slot('$i')} (i32.const 1)))
    (i32.atomic.store offset=${T_STATE * 4} (local.get $at) (local.get $inFlight))
    (i32.const 1))
  (func (export "adopt_transfer")
      (param $at i32) (param $inFlight i32) (param $free i32) (param $root i32) (param $h i32) (result i32)
    (if (i32.ne (i32.atomic.rmw.cmpxchg offset=${T_STATE * 4} (local.get $at) (local.get $inFlight) (local.get $free))
                (local.get $inFlight))
      (then (return (i32.const 0))))
    (i32.store (local.get $root) (local.get $h))
    (i32.const 1))
  (func (export "clone_raw") (param $h i32) (param $entry i32) (result i32)
    (local $i i32) (local $b i32) (local $g i32) (local $c i32) (local $before i32) (local $pos i32)
    (local.set $i (i32.and (local.get $h) (global.get $indexMask)))
    (if (i32.ge_u (local.get $i) (global.get $capacity)) (then (return (i32.const -1))))
    (local.set $g (i32.shr_u (local.get $h) (global.get $bits)))
    (local.set $b ${slot('$i')})
    (if (i32.ne (i32.atomic.load offset=${GEN} (local.get $b)) (local.get $g)) (then (return (i32.const -1))))
    ;; Only a LIVE slot has a positive count, and 0 is terminal (I2): refuse it, retry on a race.
    (loop $retry
      (local.set $c (i32.atomic.load offset=${COUNT} (local.get $b)))
      (if (i32.le_s (local.get $c) (i32.const 0)) (then (return (i32.const -1))))
      (br_if $retry
        (i32.ne (i32.atomic.rmw.cmpxchg offset=${COUNT} (local.get $b)
                  (local.get $c) (i32.add (local.get $c) (i32.const 1)))
                (local.get $c))))
    (i32.store (local.get $entry) (local.get $h))
    ;; The slot may have been freed and reused between the generation check and the increment:
    ;; then the count landed on another object. Undo it as an ordinary drop (written out, see above).
    (if (i32.ne (i32.atomic.load offset=${GEN} (local.get $b)) (local.get $g))
      (then
        (i32.store (local.get $entry) (i32.const 0))${dropCount}
        (return (i32.const -1))))
    (local.get $i))
  (func (export "live_index") (param $h i32) (result i32)${resolve}
    (if (i32.le_s (i32.atomic.load offset=${COUNT} (local.get $b)) (i32.const 0))
      (then (return (i32.const -1))))${recheck}
    (local.get $i))
  (func (export "pop_released") (result i32)
    (local $head i32) (local $at i32) (local $v i32)
    (local.set $head (i32.atomic.load (i32.const ${H_RQ_HEAD * 4})))
    (local.set $at (i32.add (global.get $rq) (i32.shl (i32.and (local.get $head) (global.get $rqMask)) (i32.const 2))))
    (local.set $v (i32.atomic.load (local.get $at)))
    (if (i32.eqz (local.get $v)) (then (return (i32.const -1))))
    (i32.atomic.store (local.get $at) (i32.const 0))
    (i32.atomic.store (i32.const ${H_RQ_HEAD * 4}) (i32.add (local.get $head) (i32.const 1)))
    (local.set $v (i32.sub (local.get $v) (i32.const 1)))
    (if (i32.ne (i32.atomic.load offset=${STATE} ${slot('$v')}) (i32.const ${SLOT_DYING}))
      (then (return (i32.sub (i32.const -2) (local.get $v)))))
    (local.get $v))
  (func (export "free_slot") (param $i i32) (param $tag i32) (result i32)
    (local $b i32) (local $gen i32) (local $wrapped i32)
    (local.set $b ${slot('$i')})
    (local.set $gen (i32.add (i32.atomic.load offset=${GEN} (local.get $b)) (i32.const 1)))
    (i32.atomic.store offset=${COUNT} (local.get $b) (i32.const 0))
    ;; The version moves on, never back (see drop_own).
    (drop (i32.atomic.rmw.add offset=${VERSION} (local.get $b) (i32.const 1)))
    (i32.atomic.store offset=${S_OWNER * 4} (local.get $b) (i32.const 0))
    (i32.atomic.store offset=${TAG} (local.get $b) (local.get $tag))
    ;; Past the largest generation, back to 1 (never 0): a handle is never 0.
    (if (i32.gt_u (local.get $gen) (global.get $maxGen))
      (then (local.set $gen (i32.const 1)) (local.set $wrapped (i32.const 1))))
    (i32.atomic.store offset=${GEN} (local.get $b) (local.get $gen))
    (i32.atomic.store offset=${STATE} (local.get $b) (i32.const ${SLOT_FREE}))
    (i32.add (i32.const 1) (local.get $wrapped)))
  (func (export "check") (param $h i32) (result i32)${resolve}
    (if (i32.ne (i32.atomic.load offset=${STATE} (local.get $b)) (i32.const ${SLOT_LIVE}))
      (then (return (i32.const -1))))${recheck}
    (local.get $i))
  (func (export "publish")
      (param $i i32) (param $tag i32) (param $entry i32) (param $created i32) (param $flags i32) (result i32)
    (local $b i32) (local $h i32)
    (local.set $b ${slot('$i')})
    (local.set $h (i32.or (i32.shl (i32.atomic.load offset=${GEN} (local.get $b)) (global.get $bits)) (local.get $i)))
    (i32.atomic.store offset=${TAG} (local.get $b) (local.get $tag))
    ;; The version stays: freeing the slot moved it past every earlier object's.
    (i32.atomic.store offset=${COUNT} (local.get $b) (i32.const 1))
    ;; The creator's counter before the state: live (created - disposed) may over-count for a
    ;; moment, never under-count (checked in debug mode). This store is its only writer.
    (i32.atomic.store (local.get $created) (i32.add (i32.atomic.load (local.get $created)) (i32.const 1)))
    (i32.store (local.get $entry) (local.get $h))
    (if (local.get $flags) (then (drop (i32.atomic.rmw.or offset=${OWNER} (local.get $b) (local.get $flags)))))
    (i32.atomic.store offset=${STATE} (local.get $b) (i32.const ${SLOT_LIVE}))
    (local.get $h)))
`;
}

let compiled: WebAssembly.Module | null = null;
const instances = new WeakMap<WebAssembly.Memory, Kernel>();

/** Pages of 64 KiB for a heap of `totalWords` words. */
export function memoryPages(totalWords: number): number {
  return Math.max(1, Math.ceil((totalWords * 4) / 65536));
}

/** A new shared memory for a heap of `totalWords` words (its buffer is the heap's buffer). */
export function heapMemory(totalWords: number): WebAssembly.Memory {
  const pages = memoryPages(totalWords);
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

/** This thread's kernel instance over `memory`, laid out as `layout`. */
export function kernelFor(memory: WebAssembly.Memory, layout: Layout, indexBits: number): Kernel {
  let k = instances.get(memory);
  if (k !== undefined) return k;
  compiled ??= new WebAssembly.Module(Buffer.from(KERNEL_WASM_BASE64, 'base64'));
  k = new WebAssembly.Instance(compiled, { sharedref: { memory } }).exports as unknown as Kernel;
  k.init(
    layout.slots * 4,
    layout.releaseQueue * 4,
    layout.releaseQueueSize - 1,
    layout.capacity,
    indexBits,
    2 ** layout.generationBits - 1,
  );
  instances.set(memory, k);
  return k;
}
