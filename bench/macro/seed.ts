/**
 * Macro: the seed workload (host-string new/concat called from Wasm) as throughput. Runs on a
 * pool with 1 worker and a pool with 2 workers, taking turns in rounds (see `runSeed`); and, for
 * the chart, in one thread with plain JS strings over V8's bare externref (no sharedref at all).
 *
 * Each pool run also records the CPU every thread of the process used (Linux). That gives the
 * row's ceiling: at the CPU per host call of the 1-worker run, the machine's cores allow at most
 * `cores / (cores the 1-worker run used)` times its throughput, however the work is spread.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Heap, Module, type Pool } from '../../src';
import { sampleOf } from '../lib/measure';
import { coresByThread, osThreadId, threadCpuNs } from '../lib/cpu';
import type { Row } from '../micro/core';
import { SEED_LOOP_NATIVE_WAT } from '../fixtures/seed-wat';

const fixtures = join(__dirname, '..', 'fixtures');

/** Seconds each pool runs in one round (and in its warm-up). */
const ROUND_SECONDS = 1;

/** Where a pool run's CPU went, in cores (CPU seconds per wall second). */
export interface CpuUse {
  /** Every thread of the process together. */
  readonly total: number;
  /** Each pool worker. */
  readonly workers: readonly number[];
  /** The main thread (the benchmark, piscina's scheduling). */
  readonly main: number;
  /** The rest: the coordinator, and V8's and libuv's helper threads (GC, compiler). */
  readonly other: number;
  /** The busiest thread of the rest (the coordinator, in every run looked at). */
  readonly busiestOther: number;
}

/** A pool run: host calls per second, and its CPU use (null off Linux). */
export interface PoolRun {
  readonly callsPerSecond: number;
  readonly cpu: CpuUse | null;
}

/** A heap with a pool of `workers` workers that have compiled and warmed up the seed module. */
interface SeedPool {
  readonly heap: Heap;
  readonly pool: Pool;
  readonly workers: number;
  /** The workers' OS thread ids (null off Linux). */
  readonly tids: ReadonlySet<number | null>;
}

async function openSeedPool(workers: number): Promise<SeedPool> {
  const heap = await Heap.create({ capacity: 1 << 20, batchSize: 1024 });
  const pool = heap.createPool({
    filename: join(fixtures, 'bench-tasks.ts'),
    minThreads: workers,
    maxThreads: workers,
  });
  // Compile + warm up; each worker answers with its OS thread id.
  const tids = new Set(
    (await Promise.all(Array.from({ length: workers }, () => pool.run('seedWarmUp', 500)))) as (number | null)[],
  );
  return { heap, pool, workers, tids };
}

async function closeSeedPool(p: SeedPool): Promise<void> {
  await p.pool.close();
  await p.heap.close();
}

/** What one timed run of a pool did: host calls, wall seconds, and CPU by role (null off Linux). */
interface Interval {
  readonly calls: number;
  readonly seconds: number;
  /** CPU seconds: every thread, each worker, the main thread, the rest, and the busiest of the rest. */
  readonly cpu: { total: number; workers: number[]; main: number; other: number; busiestOther: number } | null;
}

/** Runs the seed loop on every worker of `p` (two tasks in flight per worker) for `seconds`. */
async function runFor(p: SeedPool, seconds: number): Promise<Interval> {
  let calls = 0;
  const before = threadCpuNs();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: p.workers * 2 }, async () => {
      while (performance.now() < deadline) {
        // Not `calls += await …`: that reads `calls` before the await, and concurrent lanes would overwrite each other.
        const done = (await p.pool.run('seedLoop', 2000)) as number;
        calls += done;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const after = threadCpuNs();
  let cpu: Interval['cpu'] = null;
  if (before !== null && after !== null && p.tids.size === p.workers && !p.tids.has(null)) {
    // CPU seconds per thread over the interval (cores × seconds).
    const used = coresByThread(before, after, 1);
    const mainTid = osThreadId();
    const rest = [...used].filter(([t]) => !p.tids.has(t) && t !== mainTid).map(([, c]) => c);
    cpu = {
      total: [...used.values()].reduce((a, b) => a + b, 0),
      workers: [...p.tids].map((t) => used.get(t!) ?? 0),
      main: used.get(mainTid ?? -1) ?? 0,
      other: rest.reduce((a, b) => a + b, 0),
      busiestOther: Math.max(0, ...rest),
    };
  }
  return { calls, seconds: elapsed, cpu };
}

/** Throughput and cores used (CPU seconds per wall second) over all of a pool's intervals. */
function summarizeRuns(runs: readonly Interval[]): PoolRun {
  const seconds = runs.reduce((a, r) => a + r.seconds, 0);
  const calls = runs.reduce((a, r) => a + r.calls, 0);
  if (runs.some((r) => r.cpu === null)) return { callsPerSecond: calls / seconds, cpu: null };
  const sum = (f: (c: NonNullable<Interval['cpu']>) => number): number =>
    runs.reduce((a, r) => a + f(r.cpu!), 0) / seconds;
  const workers = runs[0]!.cpu!.workers.map((_, w) => sum((c) => c.workers[w]!));
  return {
    callsPerSecond: calls / seconds,
    cpu: {
      total: sum((c) => c.total),
      workers,
      main: sum((c) => c.main),
      other: sum((c) => c.other),
      busiestOther: Math.max(...runs.map((r) => r.cpu!.busiestOther / r.seconds)),
    },
  };
}

/** The bare baseline: one thread, JS strings, V8's externref. */
function bareThroughput(seconds: number): number {
  const module = Module.fromText(SEED_LOOP_NATIVE_WAT);
  const run = (
    new WebAssembly.Instance(module.wasm, {
      'host-string': { new: () => '', concat: (a: string, b: string) => a + b },
    }).exports as { run(a: unknown, b: unknown, n: number): void }
  ).run;
  run('Hello, ', 'World!', 1000);
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    run('Hello, ', 'World!', 2000);
    calls += 4000;
  }
  return calls / ((performance.now() - t0) / 1000);
}

/** Throughputs for the chart, CPU use, and the scaling row. */
export interface SeedResult {
  /** Host calls per second: one thread, JS strings, V8's bare externref. */
  readonly bare: number;
  /** Host calls per second: sharedref, 1 pool worker. */
  readonly one: number;
  /** Host calls per second: sharedref, 2 pool workers. */
  readonly two: number;
  /** Where the 1-worker run's CPU went (null off Linux). */
  readonly cpuOne: CpuUse | null;
  /** Where the 2-worker run's CPU went (null off Linux). */
  readonly cpuTwo: CpuUse | null;
  /** The machine's cores over the cores the 1-worker run used: the most 2 workers can scale here (null off Linux). */
  readonly ceiling: number | null;
  readonly row: Row;
}

/**
 * Runs the macro workload. The 1-worker and the 2-worker pools stay open side by side (an idle
 * pool's workers sleep) and take turns in rounds of `ROUND_SECONDS`, in alternating order, so that
 * both see the same machine: on this shared machine a 1-worker run and a 2-worker run a few
 * seconds apart saw different machines, and their ratio measured that. The row's figures are the
 * medians over the rounds.
 */
export async function runSeed(quick: boolean, progress: (msg: string) => void): Promise<SeedResult> {
  const rounds = quick ? 7 : 11;
  progress('seed workload, bare V8 (1 thread)');
  const bare = bareThroughput(quick ? 2 : 4);
  progress('seed workload, sharedref: starting a 1-worker and a 2-worker pool');
  const pools = [await openSeedPool(1), await openSeedPool(2)] as const;
  const intervals: [Interval[], Interval[]] = [[], []];
  try {
    for (const p of pools) await runFor(p, ROUND_SECONDS); // warm-up, not counted
    for (let r = 0; r < rounds; r++) {
      progress(`seed workload, sharedref, 1 and 2 workers in turn: round ${r + 1} of ${rounds}`);
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const k of order) intervals[k]!.push(await runFor(pools[k]!, ROUND_SECONDS));
    }
  } finally {
    for (const p of pools) await closeSeedPool(p);
  }
  const runOne = summarizeRuns(intervals[0]);
  const runTwo = summarizeRuns(intervals[1]);
  const one = runOne.callsPerSecond;
  const two = runTwo.callsPerSecond;
  const ceiling = runOne.cpu === null ? null : availableParallelism() / runOne.cpu.total;
  // Throughput rows are "higher is better": the ratio is 2 workers over 1, target ≥ 1.7. A
  // sample is one round's ns per host call.
  const asSample = (runs: readonly Interval[]): Row['sample'] => sampleOf(runs.map((i) => (i.seconds * 1e9) / i.calls));
  return {
    bare,
    one,
    two,
    cpuOne: runOne.cpu,
    cpuTwo: runTwo.cpu,
    ceiling,
    row: {
      id: 'seed-scaling-2v1',
      what: 'seed workload in Wasm, ns per host call, 2 workers vs 1',
      sample: asSample(intervals[1]),
      baseline: 'same workload, 1 worker',
      baselineSample: asSample(intervals[0]),
      target: 1.7,
      higherIsBetter: true,
      gap: `${ceiling === null ? '' : `CPU ceiling here ${ceiling.toFixed(2)}×; `}docs/performance.md: seed-scaling`,
    },
  };
}
