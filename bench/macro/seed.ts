/**
 * Macro: the seed workload (host-string new/concat called from Wasm) as throughput. Runs on a
 * pool with 1 worker, then 2 workers, for the same duration; and, as the baseline, in one
 * thread with plain JS strings over V8's bare externref (no sharedref at all).
 */
import { join } from 'node:path';
import { Heap, Module } from '../../src';
import type { Row } from '../micro/core';
import { SEED_LOOP_NATIVE_WAT } from '../fixtures/seed-wat';

const fixtures = join(__dirname, '..', 'fixtures');

/** Host calls per second over the run, from repeated tasks on `workers` workers. */
async function poolThroughput(workers: number, seconds: number): Promise<number> {
  const heap = await Heap.create({ capacity: 1 << 20, batchSize: 1024 });
  const pool = heap.createPool({ filename: join(fixtures, 'bench-tasks.ts'), minThreads: workers, maxThreads: workers });
  try {
    await Promise.all(Array.from({ length: workers }, () => pool.run('seedLoop', 500))); // compile + warm up
    let calls = 0;
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
    return calls / elapsed;
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

/** Throughputs for the chart, and the scaling row. */
export interface SeedResult {
  readonly bare: number;
  readonly one: number;
  readonly two: number;
  readonly row: Row;
}

/** Runs the macro workload. */
export async function runSeed(quick: boolean, progress: (msg: string) => void): Promise<SeedResult> {
  const seconds = quick ? 3 : 8;
  progress('seed workload, bare V8 (1 thread)');
  const bare = bareThroughput(seconds);
  progress('seed workload, sharedref, 1 worker');
  const one = await poolThroughput(1, seconds);
  progress('seed workload, sharedref, 2 workers');
  const two = await poolThroughput(2, seconds);
  // Throughput rows are "higher is better": the ratio is 2 workers over 1, target ≥ 1.7.
  const asSample = (opsPerS: number): Row['sample'] => ({ median: 1e9 / opsPerS, p10: 1e9 / opsPerS, p90: 1e9 / opsPerS, samples: 1 });
  return {
    bare,
    one,
    two,
    row: {
      id: 'seed-scaling-2v1',
      what: 'seed workload in Wasm, ns per host call, 2 workers vs 1',
      sample: asSample(two),
      baseline: 'same workload, 1 worker',
      baselineSample: asSample(one),
      target: 1.7,
      higherIsBetter: true,
      gap: 'docs/performance.md: seed-scaling',
    },
  };
}
