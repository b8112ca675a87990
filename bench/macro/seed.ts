/**
 * Macro: the seed workload (host-string new/concat called from Wasm) as throughput. Runs on a
 * pool with 1 worker, then 2 workers, for the same duration; and, as the baseline, in one
 * thread with plain JS strings over V8's bare externref (no sharedref at all).
 *
 * Each pool run also records the CPU every thread of the process used (Linux). That gives the
 * row's ceiling: at the CPU per host call of the 1-worker run, the machine's cores allow at most
 * `cores / (cores the 1-worker run used)` times its throughput, however the work is spread.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Heap, Module } from '../../src';
import { coresByThread, osThreadId, threadCpuNs } from '../lib/cpu';
import type { Row } from '../micro/core';
import { SEED_LOOP_NATIVE_WAT } from '../fixtures/seed-wat';

const fixtures = join(__dirname, '..', 'fixtures');

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

/** Host calls per second over the run, from repeated tasks on `workers` workers. */
async function poolThroughput(workers: number, seconds: number): Promise<PoolRun> {
  const heap = await Heap.create({ capacity: 1 << 20, batchSize: 1024 });
  const pool = heap.createPool({ filename: join(fixtures, 'bench-tasks.ts'), minThreads: workers, maxThreads: workers });
  try {
    // Compile + warm up; each worker answers with its OS thread id.
    const tids = new Set((await Promise.all(Array.from({ length: workers }, () => pool.run('seedWarmUp', 500)))) as (number | null)[]);
    let calls = 0;
    const before = threadCpuNs();
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    await Promise.all(
      Array.from({ length: workers * 2 }, async () => {
        while (performance.now() < deadline) {
          // Not `calls += await …`: that reads `calls` before the await, and concurrent lanes would overwrite each other.
          const done = (await pool.run('seedLoop', 2000)) as number;
          calls += done;
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    const after = threadCpuNs();
    let cpu: CpuUse | null = null;
    if (before !== null && after !== null && tids.size === workers && !tids.has(null)) {
      const cores = coresByThread(before, after, elapsed);
      const mainTid = osThreadId();
      const main = cores.get(mainTid ?? -1) ?? 0;
      const perWorker = [...tids].map((t) => cores.get(t!) ?? 0);
      const rest = [...cores].filter(([t]) => !tids.has(t) && t !== mainTid).map(([, c]) => c);
      const total = [...cores.values()].reduce((a, b) => a + b, 0);
      cpu = { total, workers: perWorker, main, other: rest.reduce((a, b) => a + b, 0), busiestOther: Math.max(0, ...rest) };
    }
    return { callsPerSecond: calls / elapsed, cpu };
  } finally {
    await pool.close();
    await heap.close();
  }
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

/** Runs the macro workload. */
export async function runSeed(quick: boolean, progress: (msg: string) => void): Promise<SeedResult> {
  const seconds = quick ? 3 : 8;
  progress('seed workload, bare V8 (1 thread)');
  const bare = bareThroughput(seconds);
  progress('seed workload, sharedref, 1 worker');
  const runOne = await poolThroughput(1, seconds);
  progress('seed workload, sharedref, 2 workers');
  const runTwo = await poolThroughput(2, seconds);
  const one = runOne.callsPerSecond;
  const two = runTwo.callsPerSecond;
  const ceiling = runOne.cpu === null ? null : availableParallelism() / runOne.cpu.total;
  // Throughput rows are "higher is better": the ratio is 2 workers over 1, target ≥ 1.7.
  const asSample = (opsPerS: number): Row['sample'] => ({ median: 1e9 / opsPerS, p10: 1e9 / opsPerS, p90: 1e9 / opsPerS, samples: 1 });
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
      sample: asSample(two),
      baseline: 'same workload, 1 worker',
      baselineSample: asSample(one),
      target: 1.7,
      higherIsBetter: true,
      gap: `${ceiling === null ? '' : `CPU ceiling here ${ceiling.toFixed(2)}×; `}docs/performance.md: seed-scaling`,
    },
  };
}
