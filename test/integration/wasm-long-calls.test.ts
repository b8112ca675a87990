/**
 * Long Wasm calls: handles that host functions give to guests live in the store's call frame and
 * can be given back at once with `sharedref.drop` (raw ABI); the native ABI's bound; calls through
 * `instance.exports` release their temporaries when the run of JS ends; a handle published to
 * another thread from inside a call never stalls that thread.
 */
import { join } from 'node:path';
import { expect } from 'chai';
import { ExternRef, Heap, Linker, Module, type Pool, type Rooted, type WasmTrap } from '../../src';
import { throwsCode, waitFor } from '../helpers';
import { INTERPRETER_WAT, LOOP_NATIVE_WAT, LOOP_RAW_WAT } from '../fixtures/long-call-wat';
import type { PublishPath } from '../fixtures/publish-tasks';
import { seeded } from '../fixtures/prng';
import { rootHandle } from '../../src/store/internal';

const gc = (globalThis as { gc?: () => void }).gc;
const publishTasks = join(__dirname, '..', 'fixtures', 'publish-tasks.ts');
const RAW_LOOP = { params: ['i32', 'i32'], results: ['i32'] } as const;

/** The trap `fn` throws, with the code of its cause. */
function trapOf(fn: () => unknown): { trap: WasmTrap; cause: string | undefined } {
  const trap = throwsCode(fn, 'ERR_WASM_TRAP') as unknown as WasmTrap;
  return { trap, cause: (trap.cause as { code?: string } | undefined)?.code };
}

describe('long wasm calls: handles given to guests', () => {
  let heap: Heap;
  afterEach(async () => {
    await heap.close();
  });

  const rawLoop = (h: Heap): ((n: number, give: number) => unknown) => {
    const linker = new Linker(h.store).funcWrap('host', 'make', { params: [], results: ['handle'] }, (caller) =>
      ExternRef.new(caller.store, 'fresh'),
    );
    const f = linker.instantiate(Module.fromText(LOOP_RAW_WAT)).getTypedFunc('run', {
      params: [...RAW_LOOP.params],
      results: [...RAW_LOOP.results],
    });
    return (n, give) => f(n, give);
  };

  it('gc_heap_does_not_grow_unboundedly: a raw guest dropping each result makes 1 000 000 in 1024 slots', async () => {
    heap = await Heap.create({ capacity: 1024 });
    const before = heap.stats();
    const roots = heap.store.rootCount;
    expect(rawLoop(heap)(1_000_000, 1)).to.equal(1_000_000);
    await heap.gc();
    const after = heap.stats();
    expect(after.created - before.created).to.equal(1_000_000);
    expect(after.disposed - before.disposed).to.equal(1_000_000);
    expect(heap.store.rootCount).to.equal(roots);
  });

  it('a raw guest that keeps its results runs out at the heap size, and the trap releases them all', async () => {
    heap = await Heap.create({ capacity: 1024 });
    const run = rawLoop(heap);
    const { cause } = trapOf(() => run(10_000, 0));
    expect(cause).to.equal('ERR_GC_HEAP_OOM');
    expect(heap.store.rootCount).to.equal(0);
    await heap.gc();
    const s = heap.stats();
    expect(s.created - s.disposed).to.equal(0);
    expect(run(500, 0)).to.equal(500); // the heap is whole again
  });

  it(
    'the native ABI holds every result until V8 collects it: a call runs out at the free slots, and the ' +
      'counts come back only after V8 collects',
    async () => {
      heap = await Heap.create({ capacity: 1024 });
      let made = 0;
      const run = new Linker(heap.store)
        .funcWrap('host', 'make', { params: [], results: ['externref'] }, (caller) => {
          made++;
          return ExternRef.new(caller.store, 'fresh');
        })
        .instantiate(Module.fromText(LOOP_NATIVE_WAT))
        .getTypedFunc('run', { params: ['i32'], results: [] });
      const { cause } = trapOf(() => run(10_000));
      expect(cause).to.equal('ERR_GC_HEAP_OOM');
      // The bound: one count per result for the whole synchronous call (here 1024 slots, all free).
      expect(made - 1).to.be.at.most(1024);
      expect(made - 1).to.be.at.least(1024 - 64);
      await waitFor(() => {
        gc?.();
        return heap.store.rootCount === 0;
      }, 'V8 to collect the guest objects');
      await heap.gc();
      expect(heap.stats().live).to.equal(0);
    },
  );

  it('instance.exports called outside any scope releases the call’s temporaries when the run of JS ends', async () => {
    heap = await Heap.create({ capacity: 1024 });
    const store = heap.store;
    const inst = new Linker(store)
      .funcWrap('host', 'make', { params: [], results: ['handle'] }, (caller) => ExternRef.new(caller.store, 'tmp'))
      .instantiate(Module.fromText(LOOP_RAW_WAT));
    const run = inst.exports.run as (n: number, give: number) => number;
    const roots = store.rootCount;
    for (let turn = 0; turn < 30; turn++) {
      // 100 temporaries a call, 10 calls a run of JS: more than the heap holds if none were released.
      for (let call = 0; call < 10; call++) expect(run(100, 0)).to.equal(100);
      expect(store.rootCount - roots, 'kept until the run of JS ends').to.equal(1000);
      await Promise.resolve();
      expect(store.rootCount - roots, 'released when it ended').to.equal(0);
    }
    expect(run(5000, 1)).to.equal(5000); // and a guest that drops needs no turn at all
    expect(store.rootCount).to.equal(roots);
    await heap.gc();
    expect(heap.stats().live).to.equal(0);
  });

  it('a handle kept past the call without a clone is refused afterwards, never another object', async () => {
    heap = await Heap.create({ capacity: 16 });
    const linker = new Linker(heap.store)
      .funcWrap('host', 'make', { params: [], results: ['handle'] }, (caller) => ExternRef.new(caller.store, 'old'))
      .funcWrap('host', 'check', { params: ['handle'], results: [] }, (_caller, r: Rooted | null) => {
        expect(r!.dataSync()).to.equal('old');
      })
      .funcWrap('host', 'nest', { params: ['handle'], results: [] }, () => undefined);
    const inst = linker.instantiate(Module.fromText(INTERPRETER_WAT));
    const mem = new Int32Array(inst.getMemory('memory').buffer);
    mem.set([0, 0, 6, 0]); // make into r0; keep r0 in the global, without a count
    inst.getTypedFunc('run', { params: ['i32', 'handle'], results: [] })(2, null);
    // Fill the heap with other objects, so the slot is reused.
    heap.store.scope(() => {
      for (let i = 0; i < 15; i++) ExternRef.new(heap.store, 'new');
      expect(trapOf(() => inst.getTypedFunc('checkKept', { params: [], results: [] })()).cause).to.equal(
        'ERR_INVALID_HANDLE',
      );
    });
  });

  describe('generated programs: drops, clones, arguments, nesting and traps', () => {
    /** What a program does to one object, as the model sees it. */
    interface Obj {
      handle: number;
      frame: number; // counts in the outer call's frame
      clones: number;
      isArg: boolean;
    }
    const OPS = { make: 0, drop: 1, clone: 2, check: 3, arg: 4, nest: 5 } as const;
    type Op = keyof typeof OPS;
    const REGS = 6;

    it('every program leaves exactly the counts the model predicts, and traps where it predicts', async () => {
      heap = await Heap.create({ capacity: 256 });
      const store = heap.store;
      const random = seeded(15_3);
      let made: number[] = [];
      const nested: { inst?: ReturnType<Linker['instantiate']> } = {};
      const linker = new Linker(store)
        .funcWrap('host', 'make', { params: [], results: ['handle'] }, (caller) => {
          const r = ExternRef.new(caller.store, made.length);
          made.push(rootHandle(r)); // not toRaw, which would post the value: it stays a temporary
          return r;
        })
        .funcWrap(
          'host',
          'check',
          { params: ['handle'], results: [] },
          (_caller, r: Rooted | null) => void r!.dataSync(),
        )
        .funcWrap('host', 'nest', { params: ['i32'], results: [] }, (_caller, h: number) => {
          nested.inst!.getTypedFunc('dropOne', { params: ['i32'], results: [] })(h);
        });
      const inst = (nested.inst = linker.instantiate(Module.fromText(INTERPRETER_WAT)));
      const mem = new Int32Array(inst.getMemory('memory').buffer);
      const run = inst.getTypedFunc('run', { params: ['i32', 'handle'], results: [] });
      const counts: Record<string, number> = { traps: 0, programs: 0 };

      for (let program = 0; program < 300; program++) {
        made = [];
        const arg = ExternRef.newManuallyRooted(store, 'arg');
        const argObj: Obj = { handle: arg.toRaw(), frame: 0, clones: 0, isArg: true };
        const regs: (Obj | null)[] = new Array<Obj | null>(REGS).fill(null);
        const objs: Obj[] = [];
        const ops: Array<[Op, number]> = [];
        let traps = false;
        const len = 1 + Math.floor(random() * 30);
        for (let k = 0; k < len && !traps; k++) {
          const r = Math.floor(random() * REGS);
          const o = regs[r];
          const alive = (x: Obj): boolean => x.isArg || x.frame + x.clones > 0;
          const choice: Op =
            o === null
              ? random() < 0.8
                ? 'make'
                : 'arg'
              : (['make', 'drop', 'drop', 'clone', 'check', 'arg', 'nest'] as const)[Math.floor(random() * 7)]!;
          ops.push([choice, r]);
          switch (choice) {
            case 'make': {
              const x: Obj = { handle: 0, frame: 1, clones: 0, isArg: false };
              objs.push(x);
              regs[r] = x;
              break;
            }
            case 'arg':
              regs[r] = argObj;
              break;
            case 'drop':
              if (!alive(o!) && !o!.isArg) traps = true;
              else if (o!.clones > 0) o!.clones--;
              else if (o!.frame > 0) o!.frame--;
              else traps = true; // an argument it holds no count for
              break;
            case 'nest': // a nested call can give back clones only
              if (o!.clones > 0) o!.clones--;
              else traps = true;
              break;
            case 'clone':
              if (alive(o!)) o!.clones++;
              else traps = true;
              break;
            case 'check':
              if (!alive(o!)) traps = true;
              break;
          }
        }
        ops.forEach(([op, r], k) => mem.set([OPS[op], r], k * 2));
        const roots = store.rootCount;
        if (traps) {
          trapOf(() => run(ops.length, arg));
          counts.traps!++;
        } else {
          run(ops.length, arg);
        }
        counts.programs!++;
        // The frame is gone, the clones stay: one count each, owned by the store under the number.
        objs.forEach((x, i) => (x.handle = made[i]!));
        const clones = objs.reduce((n, x) => n + x.clones, 0) + argObj.clones;
        expect(store.rootCount - roots, `program ${program}: ${JSON.stringify(ops)}`).to.equal(clones);
        expect(arg.strongCount()).to.equal(1 + argObj.clones);
        for (const x of [...objs, argObj]) {
          for (let c = 0; c < x.clones; c++) ExternRef.fromOwnedRaw(store, x.handle)!.unroot();
        }
        arg.unroot();
        expect(store.rootCount).to.equal(roots - 1);
      }
      await heap.gc();
      expect(heap.stats().live).to.equal(0);
      expect(counts.traps, 'some programs trap').to.be.greaterThan(30);
      expect(counts.programs! - counts.traps!, 'some run to the end').to.be.greaterThan(30);
    });
  });
});

describe('long wasm calls: a handle published to another thread from inside a call', () => {
  let heap: Heap;
  let pool: Pool | null = null;
  afterEach(async () => {
    // The producer may still wait, with no time-out, inside Wasm: terminate it.
    await pool?.destroy();
    pool = null;
    await heap.close();
  });

  const paths: PublishPath[] = ['sharedref.clone', 'typed-call argument', 'toRaw', 'intoRaw'];
  for (const path of paths) {
    it(`${path}: the reader gets the value while the producer waits for its answer`, async () => {
      heap = await Heap.create();
      pool = heap.createPool({ filename: publishTasks, minThreads: 2, maxThreads: 2 });
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      const value = `published by ${path}`;
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${path}: the reader stalled (no answer in 30 s)`)), 30_000);
      });
      try {
        const [produced, read] = await Promise.race([
          Promise.all([pool.run('produce', memory, 64, path, value), pool.run('consume', memory, 64)]),
          bound,
        ]);
        expect(produced).to.equal(path);
        expect(read).to.equal(value);
      } finally {
        clearTimeout(timer);
      }
      await pool.close();
      pool = null;
      await heap.gc();
      expect(heap.stats().live).to.equal(0);
    });
  }

  it('a worker killed inside a long call releases its frame and its clones (I4)', async () => {
    heap = await Heap.create({ capacity: 4096 });
    pool = heap.createPool({ filename: publishTasks, minThreads: 1, maxThreads: 1 });
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const i32 = new Int32Array(memory.buffer);
    const running = pool.run('holdAndBlock', memory, 1000, 100).catch((err: unknown) => err);
    await waitFor(() => Atomics.load(i32, 0) === 1, 'the worker to hold 1000 results');
    expect(heap.stats().live).to.equal(1000);
    await pool.destroy();
    pool = null;
    expect(await running).to.be.instanceOf(Error);
    await waitFor(() => {
      heap.gcSync();
      return heap.stats().live === 0;
    }, 'the dead worker’s counts to be released');
  });
});
