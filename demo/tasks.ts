/**
 * The demo's pool tasks: the host-string module, grown into a loop that shares its
 * results. Every worker's Wasm creates host strings (`new`), concatenates one with a string
 * another worker published (`concat`), and publishes the result on a board of raw handles in a
 * shared `WebAssembly.Memory` (its layout: board.ts). Pool worker thread.
 *
 * Who owns which count. A board slot belongs to one worker (slot i to worker i mod W), and the
 * handle in it carries a count that worker's store took with `sharedref.clone`; only the owner
 * replaces or drops it. A reader takes a count of its own under the slot's spin lock, so the
 * owner cannot drop the handle between the read and the clone. Locks and counters are Wasm
 * atomics on the shared memory.
 */
import { defineTasks, ExternRef, Linker, Module, type Rooted, type TaskContext } from '../src/worker';
import { BOARD_AT, READY_AT, type WorkPlan, type WorkerReport } from './board';

/** Longest string a concat keeps (its tail), so values stay small however long the run. */
const MAX_TEXT = 48;

const DEMO_WAT = `
(module
  (import "env" "memory" (memory 1 65536 shared))
  (import "host-string" "new" (func $new (result i32)))
  (import "host-string" "concat" (func $concat (param i32 i32) (result i32)))
  (import "sharedref" "clone" (func $clone (param i32) (result i32)))
  (import "sharedref" "drop" (func $drop (param i32)))

  ;; Slot i: a lock word, then a handle (0 = empty).
  (func $slot (param $i i32) (result i32)
    (i32.add (i32.const ${BOARD_AT}) (i32.shl (local.get $i) (i32.const 3))))
  (func $lock (param $at i32)
    (loop $spin
      (br_if $spin (i32.atomic.rmw.cmpxchg (local.get $at) (i32.const 0) (i32.const 1)))))
  (func $unlock (param $at i32)
    (i32.atomic.store (local.get $at) (i32.const 0)))

  ;; A count of our own on the handle in slot i, or 0 if the slot is empty.
  (func $read (param $i i32) (result i32)
    (local $at i32) (local $h i32)
    (local.set $at (call $slot (local.get $i)))
    (call $lock (local.get $at))
    (local.set $h (i32.atomic.load offset=4 (local.get $at)))
    (if (local.get $h) (then (local.set $h (call $clone (local.get $h)))))
    (call $unlock (local.get $at))
    (local.get $h))

  ;; Puts h (a count this store owns, or 0) into slot i; drops the count of what was there.
  ;; Returns 1 if the slot held something.
  (func $swap (param $i i32) (param $h i32) (result i32)
    (local $at i32) (local $old i32)
    (local.set $at (call $slot (local.get $i)))
    (call $lock (local.get $at))
    (local.set $old (i32.atomic.load offset=4 (local.get $at)))
    (i32.atomic.store offset=4 (local.get $at) (local.get $h))
    (call $unlock (local.get $at))
    (if (result i32) (local.get $old)
      (then (call $drop (local.get $old)) (i32.const 1))
      (else (i32.const 0))))

  ;; xorshift32
  (func $next (param $x i32) (result i32)
    (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
    (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
    (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))

  ;; n rounds of: new string a; b = a string from a random slot; c = concat(a, b) (or a when
  ;; the slot was empty); publish c in a random slot of ours. Returns the next seed.
  (func (export "run")
      (param $n i32) (param $w i32) (param $workers i32) (param $slots i32) (param $seed i32) (result i32)
    (local $a i32) (local $b i32) (local $c i32) (local $mine i32)
    ;; slots w, w+W, w+2W, ... below $slots are ours
    (local.set $mine
      (i32.div_u
        (i32.sub (i32.add (local.get $slots) (local.get $workers)) (i32.add (local.get $w) (i32.const 1)))
        (local.get $workers)))
    (loop $round
      (local.set $a (call $new))
      (local.set $seed (call $next (local.get $seed)))
      (local.set $b (call $read (i32.rem_u (local.get $seed) (local.get $slots))))
      (if (local.get $b)
        (then
          (local.set $c (call $concat (local.get $a) (local.get $b)))
          (call $drop (local.get $b)))
        (else (local.set $c (local.get $a))))
      (local.set $seed (call $next (local.get $seed)))
      (drop (call $swap
        (i32.add (local.get $w) (i32.mul (local.get $workers) (i32.rem_u (local.get $seed) (local.get $mine))))
        (call $clone (local.get $c))))
      (drop (i32.atomic.rmw.add (i32.shl (local.get $w) (i32.const 3)) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $round (local.get $n)))
    (local.get $seed))

  ;; Empties every slot of ours; returns how many held a handle.
  (func (export "clear") (param $w i32) (param $workers i32) (param $slots i32) (result i32)
    (local $i i32) (local $held i32)
    (local.set $i (local.get $w))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $slots)))
        (local.set $held (i32.add (local.get $held) (call $swap (local.get $i) (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (local.get $workers)))
        (br $each)))
    (local.get $held)))
`;

module.exports = defineTasks({
  /** Runs the loop until `plan.until`, then empties this worker's slots. */
  work(ctx: TaskContext, plan: WorkPlan): WorkerReport {
    let created = 0;
    let serial = 0;
    const store = ctx.store;
    const linker = new Linker(store)
      .define('env', 'memory', plan.memory)
      .funcWrap('host-string', 'new', { params: [], results: ['handle'] }, () => {
        created++;
        return ExternRef.new(store, `w${plan.worker}.${serial++}`);
      })
      .funcWrap(
        'host-string',
        'concat',
        { params: ['handle', 'handle'], results: ['handle'] },
        (_caller, a: Rooted | null, b: Rooted | null) => {
          created++;
          return ExternRef.new(store, `${String(a!.dataSync())}+${String(b!.dataSync())}`.slice(-MAX_TEXT));
        },
      );
    const instance = linker.instantiate(Module.fromText(DEMO_WAT));
    const run = instance.getTypedFunc('run', { params: ['i32', 'i32', 'i32', 'i32', 'i32'], results: ['i32'] });
    const clear = instance.getTypedFunc('clear', { params: ['i32', 'i32', 'i32'], results: ['i32'] });
    // Start together: compiling and linking take a while, and not as long on every thread.
    const words = new Int32Array(plan.memory.buffer);
    const ready = READY_AT >> 2;
    Atomics.add(words, ready, 1);
    Atomics.notify(words, ready);
    for (let n = Atomics.load(words, ready); n < plan.workers; n = Atomics.load(words, ready))
      Atomics.wait(words, ready, n, 1000);
    const until = Date.now() + plan.ms;
    let seed = plan.seed | 1;
    let rounds = 0;
    // Short calls: the strings a call's host functions return stay rooted until it returns.
    do {
      seed = run(256, plan.worker, plan.workers, plan.slots, seed) as number;
      rounds += 256;
    } while (Date.now() < until);
    const held = clear(plan.worker, plan.workers, plan.slots) as number;
    return { worker: plan.worker, threadId: ctx.threadId, rounds, created, held };
  },
});
