/**
 * Micro benchmarks of single operations, each with its baseline measured in the same run.
 * Main thread, plus pool workers and an echo worker for the cross-thread rows.
 */
import { join } from 'node:path';
import { Worker, MessageChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter';
import { Piscina } from 'piscina';
import { ExternRef, Heap, type ManuallyRooted, Module, type Store } from '../../src';
import { bareRun } from '../../src/internal/bench-hooks';
import { type CoordinatorEcho, heapWithEcho } from '../lib/coordinator-echo';
import { type Sample, sampleOf, timeAsyncPair, timeSync, timeSyncPair } from '../lib/measure';

/** One result row. */
export interface Row {
  readonly id: string;
  readonly what: string;
  readonly sample: Sample;
  readonly baseline: string;
  readonly baselineSample: Sample | null;
  /**
   * The target: ratio ≤ this (or, with no baseline, median ns ≤ this); with `higherIsBetter`, baseline/subject ≥ this.
   */
  readonly target: number;
  /** For throughput rows: the figure is baseline time over subject time, and must reach the target. */
  readonly higherIsBetter?: boolean;
  /** An A/A control (the same code on both sides): its ratio measures this run's noise, so it gets no verdict. */
  readonly control?: boolean;
  /** Where a known gap to the target is measured and explained, shown when the row misses. */
  readonly gap?: string;
  /**
   * A comparison for information: the baseline cannot do what the subject does (the per-task copies
   * share nothing), so the row gets the verdict `info` whatever its ratio.
   */
  readonly reference?: boolean;
}

const fixtures = join(__dirname, '..', 'fixtures');

/** A reference figure with no target of its own: what a design without sharedref pays. */
export interface Baseline {
  readonly id: string;
  readonly what: string;
  readonly sample: Sample;
}

/**
 * Two Wasm atomics on a shared memory: a loop of add+sub pairs inside Wasm (the floor of count
 * work done in Wasm), and one pair per call from JS (what a count kept by a Wasm helper would pay).
 */
const WASM_ATOMICS_WAT = `
(module
  (memory (export "memory") 1 1 shared)
  (func (export "pairs") (param $n i32)
    (loop $l
      (drop (i32.atomic.rmw.add (i32.const 64) (i32.const 1)))
      (drop (i32.atomic.rmw.sub (i32.const 64) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n))))
  (func (export "inc") (param $at i32) (result i32)
    (i32.atomic.rmw.add (local.get $at) (i32.const 1)))
  (func (export "dec") (param $at i32) (result i32)
    (i32.atomic.rmw.sub (local.get $at) (i32.const 1))))
`;

/**
 * A wasm-bindgen-style heap: one JS array of objects with a free list threaded through it, one
 * thread, no counts. `clone` is add(get(i)), `drop` pushes the index back.
 */
class SlabHeap {
  readonly #slots: unknown[] = [];
  #next = 0;
  add(value: unknown): number {
    if (this.#next === this.#slots.length) this.#slots.push(this.#slots.length + 1);
    const at = this.#next;
    this.#next = this.#slots[at] as number;
    this.#slots[at] = value;
    return at;
  }
  get(at: number): unknown {
    return this.#slots[at];
  }
  drop(at: number): void {
    this.#slots[at] = this.#next;
    this.#next = at;
  }
}

/** Measures the reference figures of the micro rows that have no sharedref counterpart. */
export function runBaselines(quick: boolean): Baseline[] {
  const samples = quick ? 15 : 41;
  const out: Baseline[] = [];
  const i32 = new Int32Array(new SharedArrayBuffer(64));
  out.push({
    id: 'js-atomics-pair',
    what: 'JS Atomics.add + Atomics.sub on a SharedArrayBuffer',
    sample: timeSync(
      (n) => {
        for (let i = 0; i < n; i++) {
          Atomics.add(i32, 3, 1);
          Atomics.sub(i32, 3, 1);
        }
      },
      200_000,
      samples,
    ),
  });
  const wasm = new WebAssembly.Instance(Module.fromText(WASM_ATOMICS_WAT).wasm).exports as {
    pairs(n: number): void;
    inc(at: number): number;
    dec(at: number): number;
  };
  out.push({
    id: 'wasm-atomics-pair',
    what: 'Wasm i32.atomic.rmw add + sub on shared memory, loop in Wasm',
    sample: timeSync((n) => wasm.pairs(n), 1_000_000, samples),
  });
  out.push({
    id: 'wasm-atomics-pair-from-js',
    what: 'the same pair, one JS→Wasm call per operation',
    sample: timeSync(
      (n) => {
        for (let i = 0; i < n; i++) {
          wasm.inc(64);
          wasm.dec(64);
        }
      },
      200_000,
      samples,
    ),
  });
  const slab = new SlabHeap();
  const kept = slab.add({ a: 1 });
  out.push({
    id: 'slab-clone-drop',
    what: 'wasm-bindgen-style JS slab: add(get(i)) + drop, one thread',
    sample: timeSync(
      (n) => {
        for (let i = 0; i < n; i++) slab.drop(slab.add(slab.get(kept)));
      },
      200_000,
      samples,
    ),
  });
  return out;
}

/**
 * `n` objects whose last count is gone and that wait for a collection. Their values are posted
 * to the coordinator before their scope ends (the await lets the store's queue go out): objects
 * dropped before their store posts them are recycled by the store and never reach the collector.
 */
async function garbageForTheCollector(store: Store, n: number): Promise<void> {
  await store.scope(async () => {
    for (let i = 0; i < n; i++) ExternRef.new(store, i);
    await Promise.resolve(); // past the microtask that posts the values
  });
}

/**
 * Runs `body` on a fresh heap, closed after it whatever happens, and returns the rows it pushed.
 * With `withEcho`, the heap's coordinator thread also serves the same-thread baselines (`echo`).
 */
async function onFreshHeap(
  body: (heap: Heap, rows: Row[], echo: CoordinatorEcho | null) => Promise<void>,
  withEcho = false,
): Promise<Row[]> {
  const rows: Row[] = [];
  const { heap, echo } = withEcho ? await heapWithEcho() : { heap: await Heap.create(), echo: null };
  try {
    await body(heap, rows, echo);
  } finally {
    echo?.ping.close();
    echo?.comlink.close();
    await heap.close();
  }
  return rows;
}

/**
 * The local rows: single operations on the main thread (roots, a cached read, `new`), each timed
 * alternately with its baseline. `quick` uses fewer samples.
 */
export async function runLocal(quick: boolean, progress: (msg: string) => void): Promise<Row[]> {
  const samples = quick ? 15 : 41;
  return onFreshHeap(async (heap, rows) => {
    const store = heap.store;
    // Baseline: a JS Atomics add+sub pair on shared memory, timed alternately with each row.
    const i32 = new Int32Array(new SharedArrayBuffer(64));
    const atomicsPair = (n: number): void => {
      for (let i = 0; i < n; i++) {
        Atomics.add(i32, 3, 1);
        Atomics.sub(i32, 3, 1);
      }
    };

    progress('clone-drop');
    const root = ExternRef.newManuallyRooted(store, { a: 1 });
    const cloneDrop = timeSyncPair(
      (n) => {
        for (let i = 0; i < n; i++) root.clone().unroot();
      },
      atomicsPair,
      200_000,
      samples,
    );
    rows.push({
      id: 'clone-drop',
      what: 'ManuallyRooted clone + unroot',
      sample: cloneDrop.subject,
      baseline: 'JS Atomics add+sub',
      baselineSample: cloneDrop.baseline,
      target: 1.5,
      gap:
        'the new root object V8 cannot fold away costs more when the machine is busy: ' +
        'docs/performance.md, clone-drop',
    });

    progress('fromraw-drop');
    const raw = root.toRaw();
    const fromRaw = timeSyncPair(
      (n) => {
        for (let i = 0; i < n; i++) ExternRef.fromRawManuallyRooted(store, raw)!.unroot();
      },
      atomicsPair,
      200_000,
      samples,
    );
    rows.push({
      id: 'fromraw-drop',
      what: 'fromRaw + unroot',
      sample: fromRaw.subject,
      baseline: 'JS Atomics add+sub',
      baselineSample: fromRaw.baseline,
      target: 2,
      gap:
        'the new root object V8 cannot fold away costs more when the machine is busy: ' +
        'docs/performance.md, fromraw-drop',
    });

    progress('datasync-cached');
    const cached = timeSync(
      (n) => {
        for (let i = 0; i < n; i++) root.dataSync();
      },
      200_000,
      samples,
    );
    rows.push({
      id: 'datasync-cached',
      what: 'dataSync of a value this store created',
      sample: cached,
      baseline: '(absolute: ns)',
      baselineSample: null,
      target: 1000,
    });

    progress('new-main');
    const small = { id: 1, name: 'small', tags: ['a', 'b'] };
    const newMain = timeSyncPair(
      (n) => {
        store.scope(() => {
          for (let i = 0; i < n; i++) ExternRef.new(store, small);
        });
      },
      (n) => {
        for (let i = 0; i < n; i++) structuredClone(small);
      },
      20_000,
      samples,
    );
    rows.push({
      id: 'new-main',
      what: 'ExternRef.new of a small object (main thread)',
      sample: newMain.subject,
      baseline: 'structuredClone',
      baselineSample: newMain.baseline,
      target: 4,
    });
    root.unroot();
  });
}

/**
 * The cross-thread rows: `new` in a worker, reads answered by the coordinator, a pool task with
 * references; each alternates with a round trip to the same thread as its baseline. They cost
 * little time per sample, so even `quick` takes 41 samples: their noise is thread placement.
 */
export async function runCross(quick: boolean, progress: (msg: string) => void): Promise<Row[]> {
  const samples = quick ? 41 : 81;
  return onFreshHeap(async (heap, rows, coordinatorEcho) => {
    const store = heap.store;
    const pool = heap.createPool({ filename: join(fixtures, 'bench-tasks.ts'), minThreads: 1, maxThreads: 1 });
    progress('new-in-worker');
    // Local work in the worker, not a round trip: as many samples as the local rows take.
    const nv = (await pool.run('newVsClone', 20_000, quick ? 15 : 41)) as { newNs: number[]; cloneNs: number[] };
    rows.push({
      id: 'new-in-worker',
      what: 'ExternRef.new of a small object in a worker',
      sample: sampleOf(nv.newNs),
      baseline: 'structuredClone (same worker)',
      baselineSample: sampleOf(nv.cloneNs),
      target: 4,
    });
    await heap.gc();

    const echo = new Worker(join(fixtures, 'echo-worker.ts'));
    await new Promise((r) => echo.once('online', r));
    progress('datasync-first-read');
    // The baseline is a raw postMessage round trip to the thread that answers the read: the
    // coordinator's (bench/lib/coordinator-echo.ts; see data-comlink below).
    const pingPort = coordinatorEcho!.ping;
    const ping = (): Promise<unknown> =>
      new Promise<unknown>((resolve) => {
        pingPort.once('message', resolve);
        pingPort.postMessage({ i: 1, text: 'value made in a worker' });
      });
    const perSample = 100;
    const handles = (await pool.run('makeMany', perSample * (samples + 2))) as number[];
    let next = 0;
    const firstReads: number[] = [];
    const pings: number[] = [];
    for (let s = 0; s < samples + 1; s++) {
      // Alternate: a batch of first reads, then a batch of raw round trips.
      let t0 = process.hrtime.bigint();
      store.scope(() => {
        for (let i = 0; i < perSample; i++) ExternRef.fromRaw(store, handles[next++]!)!.dataSync();
      });
      const readNs = Number(process.hrtime.bigint() - t0) / perSample;
      t0 = process.hrtime.bigint();
      for (let i = 0; i < perSample; i++) await ping();
      const pingNs = Number(process.hrtime.bigint() - t0) / perSample;
      if (s > 0) {
        firstReads.push(readNs);
        pings.push(pingNs);
      }
    }
    rows.push({
      id: 'datasync-first-read',
      what: 'dataSync of a value a worker created (first read)',
      sample: sampleOf(firstReads),
      baseline: 'postMessage round trip, same thread',
      baselineSample: sampleOf(pings),
      target: 1.2,
    });
    await pool.run('dropAll');

    progress('data-comlink');
    // The baseline is a bare comlink call to the same thread that serves data(): the
    // coordinator's (bench/lib/coordinator-echo.ts). Which core a thread lands on moved a bare
    // call to one thread or another by 2–3× here, which the control below shows.
    const uncached = await heapWithEcho({ cacheSize: 0 });
    const uncachedHeap = uncached.heap;
    const bare = Comlink.wrap<{ read(x: unknown): unknown }>(nodeEndpoint(uncached.echo.comlink as never));
    const u = ExternRef.newManuallyRooted(uncachedHeap.store, { i: 1 });
    const dc = await timeAsyncPair(
      () => u.data(),
      () => bare.read({ i: 1 }) as Promise<unknown>,
      100,
      samples,
    );
    rows.push({
      id: 'data-comlink',
      what: 'data() over comlink (uncached)',
      sample: dc.subject,
      baseline: 'bare comlink call, same thread',
      baselineSample: dc.baseline,
      target: 1.1,
    });
    // Control: a bare call to another thread (the echo worker) against the same bare call to
    // the coordinator's thread. Identical code on both sides; the ratio is where the threads ran.
    const { port1, port2 } = new MessageChannel();
    echo.postMessage({ t: 'comlink', port: port2 }, [port2]);
    const other = Comlink.wrap<{ read(x: unknown): unknown }>(nodeEndpoint(port1 as never));
    const aaComlink = await timeAsyncPair(
      () => other.read({ i: 1 }) as Promise<unknown>,
      () => bare.read({ i: 1 }) as Promise<unknown>,
      100,
      samples,
    );
    rows.push({
      id: 'data-comlink-aa-control',
      what: 'the same bare comlink call to another thread (control)',
      sample: aaComlink.subject,
      baseline: 'bare comlink call, same thread',
      baselineSample: aaComlink.baseline,
      target: 1.1,
      control: true,
    });
    port1.close();
    uncached.echo.ping.close();
    uncached.echo.comlink.close();
    u.unroot();
    await uncachedHeap.close();
    await echo.terminate();

    progress('pool-run-2-refs');
    // The baseline is a bare piscina task on the same pool's worker (bench-hooks' `bareRun`): which
    // core a worker lands on moved a bare round trip between ~25 and ~65 µs here, so a baseline
    // on another pool's worker measured placement as much as sharedref (the control below).
    const a = ExternRef.newManuallyRooted(store, 'a');
    const b = ExternRef.newManuallyRooted(store, 'b');
    const pr = await timeAsyncPair(
      () => pool.run('two', a, b),
      () => bareRun(pool, 3),
      100,
      samples,
    );
    rows.push({
      id: 'pool-run-2-refs',
      what: 'pool.run with two references',
      sample: pr.subject,
      baseline: 'bare piscina task, same worker',
      baselineSample: pr.baseline,
      target: 1.5,
    });
    // Control: the same bare task on a worker of a separate piscina pool, against the bare task
    // on the row's worker. Identical work on both sides; the ratio is where the threads ran.
    const bareP = new Piscina({
      filename: join(fixtures, 'bare-task.js'),
      minThreads: 1,
      maxThreads: 1,
      atomics: 'disabled',
    });
    const aaPool = await timeAsyncPair(
      () => bareP.run({ a: 1, b: 2 }),
      () => bareRun(pool, 3),
      100,
      samples,
    );
    await bareP.destroy();
    rows.push({
      id: 'pool-run-aa-control',
      what: 'a bare task on another piscina pool (control: same work both sides)',
      sample: aaPool.subject,
      baseline: 'bare piscina task, same worker',
      baselineSample: aaPool.baseline,
      target: 1.5,
      control: true,
    });
    a.unroot();
    b.unroot();
    await pool.close();
  }, true);
}

/**
 * ns per freed object of collections of 10 000 objects, `samples` of them at each size of the
 * live set in `steps` (ascending). The live objects are manual roots of small numbers on this
 * thread's store.
 */
async function perObjectAsLiveGrows(steps: readonly number[], samples: number): Promise<number[][]> {
  const most = steps[steps.length - 1]!;
  const garbage = 10_000;
  const h = await Heap.create({
    capacity: 1 << 21,
    rootsPerStore: Math.min(1 << 20, most + garbage + 1024),
    maxStores: 2,
  });
  const live: ManuallyRooted[] = [];
  const out: number[][] = [];
  try {
    for (const step of steps) {
      while (live.length < step) live.push(ExternRef.newManuallyRooted(h.store, live.length));
      await h.gc(); // whatever the growth left for the collector, before the samples
      const ns: number[] = [];
      for (let s = 0; s < samples; s++) {
        await garbageForTheCollector(h.store, garbage);
        const report = await h.gc();
        ns.push((report.pauseMs * 1e6) / report.freed);
      }
      out.push(ns);
    }
  } finally {
    for (const r of live) r.unroot();
    await h.close();
  }
  return out;
}

/** The collection rows: cost per freed object, and its independence of the live objects. */
export async function runGc(quick: boolean, progress: (msg: string) => void): Promise<Row[]> {
  const samples = quick ? 15 : 41;
  return onFreshHeap(async (heap, rows) => {
    const store = heap.store;
    progress('gc-per-object');
    const gcNs: number[] = [];
    for (let s = 0; s < Math.min(samples, 15); s++) {
      await garbageForTheCollector(store, 20_000);
      const report = await heap.gc();
      if (report.freed > 0) gcNs.push((report.pauseMs * 1e6) / report.freed);
    }
    if (gcNs.length === 0) throw new Error('gc-per-object: no collection freed anything');
    rows.push({
      id: 'gc-per-object',
      what: 'collection cost per freed object',
      sample: sampleOf(gcNs),
      baseline: '(absolute: ns)',
      baselineSample: null,
      target: 200,
    });
    progress('gc-live-independence, gc-live-1m: growing the live set to 10 000, 100 000, 1 000 000');
    // The same garbage (10 000 objects a collection) with 10 000, 100 000 and 1 000 000 live
    // objects, in one heap whose live set grows between the steps (a million objects take a few
    // seconds to make, too long to make three times or to alternate). ns per freed object.
    const perObject = await perObjectAsLiveGrows([10_000, 100_000, 1_000_000], Math.min(samples, 15));
    const [tenK, hundredK, million] = perObject.map(sampleOf) as [Sample, Sample, Sample];
    rows.push({
      id: 'gc-live-independence',
      what: 'collection, ns per freed object, with 100 000 live (vs 10 000 live)',
      sample: hundredK,
      baseline: 'same collection, 10 000 live',
      baselineSample: tenK,
      target: 1.5,
    });
    rows.push({
      id: 'gc-live-1m',
      what: 'collection, ns per freed object, with 1 000 000 live (vs 10 000 live)',
      sample: million,
      baseline: 'same collection, 10 000 live',
      baselineSample: tenK,
      target: 1.5,
    });
  });
}
