/**
 * Runs for weeks, in seconds: generations that wrap (a heap never runs out of handles), and
 * handles at and above 2^31 on every path. A narrow generation field (`generationBits`) makes every
 * slot wrap many times in a CI-sized run; the bound of handle.ts (a stale handle is refused until
 * its slot has been reused 2^generationBits − 1 times since) is checked for every stale handle.
 */
import { expect } from 'chai';
import { ExternRef, Heap, Linker, type ManuallyRooted, Module, type Pool, type Rooted } from '../../src';
import { handleCodec, handleGeneration, handleIndex } from '../../src/shared/handle';
import { rootHandle } from '../../src/store/internal';
import { S_GEN, S_TAG, computeLayout, slotBase } from '../../src/shared/layout';
import { POISON_TAG } from '../../src/shared/slot-manager';
import { hostModule, seeded, tasksFile, throwsCode } from '../helpers';

const SEED = Number(process.env.SHAREDREF_SEED ?? 0x10a6);

/** The internal memory of a heap, to read or set slot words in tests. */
function i32Of(heap: Heap): Int32Array {
  return new Int32Array((heap as unknown as { memory: WebAssembly.Memory }).memory.buffer);
}

describe('long runs: generations wrap', () => {
  let heap: Heap;
  let pool: Pool | null = null;
  afterEach(async () => {
    await pool?.close();
    pool = null;
    await heap?.close();
  });

  it(
    'every slot wraps many times, on the recycling and the coordinator path, in two threads: within the ' +
      'bound no stale handle resolves, counts stay exact, every value is disposed once',
    async () => {
      const GEN_BITS = 3; // generations 1 … 7: a stale handle is refused for 7 reuses of its slot
      const P = 2 ** GEN_BITS - 1;
      heap = await Heap.create({ capacity: 64, generationBits: GEN_BITS, batchSize: 4, hostModule });
      pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
      const codec = handleCodec(64, GEN_BITS);
      const rand = seeded(SEED);
      const store = heap.store;
      const before = heap.stats();
      /** Objects made in each slot so far (each is one reuse of it), by either thread. */
      const madeIn = new Array<number>(64).fill(0);
      const made = (h: number): number => ++madeIn[handleIndex(codec, h)]!;
      /** Handles of dead objects, with the slot's count of objects when each was made. */
      const stale: { h: number; at: number }[] = [];
      const kept: { m: ManuallyRooted; value: number }[] = [];
      let tracked = 0;
      let checks = 0;
      for (let round = 0; round < 60; round++) {
        // This thread: temporaries that die unposted (recycled by the store), posted ones (freed by the
        // coordinator at the next gc), values built in place, and a few kept for a while.
        for (let i = 0; i < 40; i++) {
          const k = rand();
          if (k < 0.4) {
            const h = store.scope(() => rootHandle(ExternRef.new(store, i)));
            stale.push({ h, at: made(h) });
          } else if (k < 0.7) {
            const h = store.scope(() => ExternRef.new(store, { i }).toRaw());
            stale.push({ h, at: made(h) });
          } else if (k < 0.8) {
            const h = store.scope(() => ExternRef.newWithSync(store, 'tracked', 10_000 + tracked++).toRaw());
            stale.push({ h, at: made(h) });
          } else if (kept.length < 8) {
            const value = round * 1000 + i;
            const m = ExternRef.newManuallyRooted(store, value);
            made(m.toRaw());
            kept.push({ m, value });
          } else {
            const { m } = kept.splice(Math.floor(rand() * kept.length), 1)[0]!;
            const h = m.toRaw();
            m.unroot();
            stale.push({ h, at: madeIn[handleIndex(codec, h)]! });
          }
        }
        // The worker's store, on the same slots.
        for (const h of (await pool.run('churnHandles', 30)) as number[]) stale.push({ h, at: made(h) });
        await heap.gc();
        // Within the bound, every stale handle is refused; past it, nothing is promised.
        for (let k = stale.length - 1; k >= 0; k--) {
          const { h, at } = stale[k]!;
          const reuses = madeIn[handleIndex(codec, h)]! - at;
          if (reuses >= P) {
            stale.splice(k, 1);
            continue;
          }
          throwsCode(() => ExternRef.fromRaw(store, h), 'ERR_INVALID_HANDLE');
          checks++;
        }
        for (const { m, value } of kept) {
          expect(m.strongCount()).to.equal(1);
          expect(m.dataSync(), 'a kept object keeps its own value').to.equal(value);
          expect(handleGeneration(codec, m.toRaw())).to.be.within(1, P);
        }
      }
      for (const { m } of kept) m.unroot();
      await heap.gc();
      const after = heap.stats();
      expect(Math.min(...madeIn), 'objects made in the least used slot').to.be.at.least(3 * P);
      expect(after.wraps - before.wraps, 'generation wraps').to.be.at.least(64);
      expect(checks, 'stale handles checked within the bound').to.be.at.least(1000);
      expect(after.live).to.equal(0);
      expect(after.created - before.created).to.equal(after.disposed - before.disposed);
      const log = await store.scope(async () => (await ExternRef.newWith(store, 'disposalLog')).call('entries'));
      const ids = (log as number[]).filter((id) => id >= 10_000);
      expect(ids.length, 'values built in place, each disposed').to.equal(tracked);
      expect(new Set(ids).size, 'exactly once').to.equal(tracked);
    },
  );

  it('stores closing with unused reserved slots move no generation: the bound counts real reuses only', async () => {
    // Regression: returning a store's unfilled slots moved their generations on, so a few store
    // closes wrapped a slot with no object in between, and a freed object's handle named the
    // slot's next object after 0 reuses.
    const GEN_BITS = 2; // a stale handle is refused for 3 reuses of its slot
    heap = await Heap.create({ capacity: 64, generationBits: GEN_BITS });
    const codec = handleCodec(64, GEN_BITS);
    const rand = seeded(SEED ^ 0x5eed);
    /** Freed handles still within the bound: handle → its slot and the objects made there since. */
    const stale = new Map<number, { slot: number; reuses: number }>();
    let checked = 0;
    for (let round = 0; round < 300; round++) {
      const store = heap.createStore(); // reserves a batch, mostly left unused
      for (let k = 1 + Math.floor(rand() * 6); k > 0; k--) {
        const r = ExternRef.newManuallyRooted(store, { round, k });
        const h = r.toRaw(); // posted: the coordinator frees it, not the store
        const slot = handleIndex(codec, h);
        const earlier = stale.get(h);
        // This object is reuse number `reuses + 1` of the slot since `h` was freed: the bound lets
        // it have `h` again only from reuse 2^GEN_BITS − 1 on.
        if (earlier !== undefined) {
          expect(
            earlier.reuses + 1,
            `reuses of slot ${slot} when freed handle 0x${h.toString(16)} came back`,
          ).to.be.at.least(2 ** GEN_BITS - 1);
        }
        for (const [old, s] of stale) {
          if (s.slot === slot && ++s.reuses >= 2 ** GEN_BITS - 1) stale.delete(old);
        }
        r.unroot();
        stale.set(h, { slot, reuses: 0 });
      }
      if (rand() < 0.5) await heap.gc();
      store.close();
      for (const [h, s] of stale) {
        const r = heap.store.scope(() => {
          try {
            return ExternRef.fromRaw(heap.store, h);
          } catch {
            return null; // refused: what the bound promises
          }
        });
        expect(r, `handle 0x${h.toString(16)} after ${s.reuses} reuses of slot ${s.slot}`).to.equal(null);
        checked++;
      }
    }
    await heap.gc();
    expect(checked, 'stale handles checked').to.be.greaterThan(200);
    expect(heap.stats().created).to.equal(heap.stats().disposed);
  });

  it('generationBits is checked against the capacity, naming the option', async () => {
    let caught: unknown;
    await Heap.create({ capacity: 64, generationBits: 27 }).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(RangeError);
    expect((caught as Error).message).to.equal('options.generationBits must be between 2 and 26, received 27');
    heap = await Heap.create({ capacity: 64 });
    expect(heap.options.generationBits, 'the default: every bit above the index').to.equal(26);
  });
});

describe('long runs: handles at and above 2^31', () => {
  let heap: Heap;
  let pool: Pool | null = null;
  afterEach(async () => {
    await pool?.close();
    pool = null;
    await heap?.close();
  });

  /**
   * A heap whose every handle has bit 31 set: the slots' generations start at 2^25 (capacity 64),
   * as if each had been freed that often. In debug mode a freed slot carries the poison tag, and
   * the invariant check after each collection looks for it on every FREE slot past generation 1.
   */
  async function highHeap(): Promise<Heap> {
    const h = await Heap.create({ capacity: 64 });
    const i32 = i32Of(h);
    const layout = computeLayout(64, h.options.maxStores, h.options.rootsPerStore, h.options.transfers);
    for (let i = 0; i < 64; i++) {
      if (h.options.debug) Atomics.store(i32, slotBase(layout, i) + S_TAG, POISON_TAG);
      Atomics.store(i32, slotBase(layout, i) + S_GEN, 2 ** 25 + i);
    }
    return h;
  }

  const RAW_WAT = `
    (module
      (import "host" "make" (func $make (param i32) (result i32)))
      (import "host" "read" (func $read (param i32) (result i32)))
      (import "sharedref" "clone" (func $clone (param i32) (result i32)))
      (import "sharedref" "drop" (func $drop (param i32)))
      (import "sharedref" "eq" (func $eq (param i32 i32) (result i32)))
      (import "sharedref" "strong_count" (func $count (param i32) (result i32)))
      (memory (export "memory") 1)
      ;; make a value, keep it with clone, store it at 0, and read it back through the host
      (func (export "keep") (param $v i32) (result i32)
        (i32.store (i32.const 0) (call $clone (call $make (local.get $v))))
        (call $read (i32.load (i32.const 0))))
      (func (export "count") (result i32) (call $count (i32.load (i32.const 0))))
      (func (export "same") (param $h i32) (result i32) (call $eq (local.get $h) (i32.load (i32.const 0))))
      (func (export "stored") (result i32) (i32.load (i32.const 0)))
      (func (export "release") (call $drop (i32.load (i32.const 0))))
      (func (export "echo") (param i32) (result i32) (local.get 0)))`;

  it('fromRaw, fromOwnedRaw and typed calls take the i32 form of a handle with bit 31 set', async () => {
    heap = await highHeap();
    const store = heap.store;
    const m = ExternRef.newManuallyRooted(store, 'high');
    const raw = m.toRaw();
    expect(raw).to.be.at.least(2 ** 31);
    const asI32 = new Int32Array([raw])[0]!; // as Wasm memory or an Int32Array gives it
    expect(asI32).to.be.below(0);
    const a = ExternRef.fromRawManuallyRooted(store, asI32)!;
    expect(ExternRef.ptrEq(a, m)).to.equal(true);
    const owned = a.intoRaw();
    expect(ExternRef.fromOwnedRaw(store, owned | 0)!.strongCount()).to.equal(2);
    throwsCode(() => ExternRef.fromRaw(store, raw + 2 ** 32), 'ERR_INVALID_HANDLE');
    m.unroot();
  });

  it('handle parameters and results, and every sharedref import, work with handles above 2^31', async () => {
    heap = await highHeap();
    const store = heap.store;
    const linker = new Linker(store)
      .funcWrap('host', 'make', { params: ['i32'], results: ['handle'] }, (c, v: number) => ExternRef.new(c.store, v))
      .funcWrap(
        'host',
        'read',
        { params: ['handle'], results: ['i32'] },
        (_c, r: Rooted | null) => r!.dataSync() as number,
      );
    const inst = linker.instantiate(Module.fromText(RAW_WAT));
    expect(inst.getTypedFunc('keep', { params: ['i32'], results: ['i32'] })(41)).to.equal(41);
    const stored = (inst.getTypedFunc('stored', { params: [], results: ['i32'] })() as number) >>> 0;
    expect(stored).to.be.at.least(2 ** 31);
    expect(inst.getTypedFunc('count', { params: [], results: ['i32'] })()).to.equal(1);
    store.scope(() => {
      const r = ExternRef.fromRaw(store, stored)!;
      expect(r.dataSync()).to.equal(41);
      const echo = inst.getTypedFunc('echo', { params: ['handle'], results: ['handle'] });
      const back = echo(r) as Rooted;
      expect(ExternRef.ptrEq(back, r)).to.equal(true);
      expect(inst.getTypedFunc('same', { params: ['handle'], results: ['i32'] })(r)).to.equal(1);
    });
    inst.getTypedFunc('release', { params: [], results: [] })();
    await heap.gc();
    throwsCode(() => ExternRef.fromRaw(store, stored), 'ERR_INVALID_HANDLE');
    expect(heap.stats().live).to.equal(0);
  });

  it('roots with handles above 2^31 travel to a worker and back, and raw ones through shared memory', async () => {
    heap = await highHeap();
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    const shared = new Int32Array(new SharedArrayBuffer(8));
    await heap.store.scope(async () => {
      const r = ExternRef.new(heap.store, { n: 7 });
      expect(r.toRaw()).to.be.at.least(2 ** 31);
      const [back] = (await pool!.run('echo', r)) as [Rooted];
      expect(ExternRef.ptrEq(back, r)).to.equal(true);
      await pool!.run('writeRaw', r, shared, 0);
      expect(Atomics.load(shared, 0)).to.be.below(0); // the i32 form
      expect(await pool!.run('readRaw', shared, 0)).to.deep.equal({ n: 7 });
      expect(await pool!.run('tryRaw', Atomics.load(shared, 0))).to.equal('resolved');
    });
  });
});
