/**
 * Macro, per host call: the seed loop (Wasm calling host-string `new` and `concat`, raw ABI) in one
 * pool worker, divided by the same loop over V8's bare externref with JS strings and over a
 * hand-rolled thread-shared slab (bench/baselines/shared-slab.ts), all timed in that same worker,
 * alternating sample by sample (bench/fixtures/bench-tasks.ts, `seedPerCall`). The creating
 * thread only starts the pool and turns the worker's timings into rows.
 *
 * It also runs the loop at 100, 2 000, 20 000 and 100 000 iterations per outer call: a call's host
 * results live until it returns, so a long call holds many values at once (past 4096 queued values
 * a store posted them to the coordinator while they were still alive: the cliff). `seed-per-call-flat`
 * says whether the cost per host call rises with the size: of every pair of sizes, the larger one's
 * median over the smaller one's, the steepest. (A smaller call may cost more per host call: each
 * outer call makes and publishes its two arguments; that is not the cliff this row guards.)
 *
 * Rejected: the bare loop on the main thread while the sharedref loop runs in a worker. Two threads
 * on this shared 2-core machine ran the same code up to 2.7× apart (the A/A controls); in one
 * thread, alternating, the ratio is the code's.
 */
import { join } from 'node:path';
import { Heap } from '../../src';
import { sampleOf } from '../lib/measure';
import type { Row } from '../micro/core';
import type { SeedPerCallPlan, SeedPerCallTimes } from '../fixtures/bench-tasks';

const fixtures = join(__dirname, '..', 'fixtures');

/** Iterations per outer call; each iteration makes two host calls. */
export const SEED_SIZES = [100, 2000, 20_000, 100_000] as const;
/** The size of the headline rows (the seed workload's own, and the profile's in the issue). */
const HEADLINE_SIZE = 2000;

/** The per-call rows, from one process (run forked by bench/run.ts). */
export async function runSeedPerCall(quick: boolean, progress: (msg: string) => void): Promise<Row[]> {
  // 100 000 iterations hold 200 000 results at once: a root entry each, in the worker's store.
  const heap = await Heap.create({ capacity: 1 << 20, batchSize: 1024, rootsPerStore: 1 << 18, maxStores: 4 });
  try {
    const pool = heap.createPool({ filename: join(fixtures, 'bench-tasks.ts'), minThreads: 1, maxThreads: 1 });
    const plan: SeedPerCallPlan = {
      sizes: SEED_SIZES,
      slabSize: HEADLINE_SIZE,
      // At least one outer call: 40 000 host calls at 20 000 iterations, 200 000 at 100 000.
      hostCalls: 50_000,
      baselineFactor: 10,
      samples: quick ? 7 : 11,
    };
    progress(`seed loop per host call: sharedref, bare V8, shared slab; ${SEED_SIZES.join(', ')} iterations per call`);
    const times = (await pool.run('seedPerCall', plan)) as SeedPerCallTimes;
    await pool.close();
    return perCallRows(times);
  } finally {
    await heap.close();
  }
}

function perCallRows(times: SeedPerCallTimes): Row[] {
  const at = (n: number): number => SEED_SIZES.indexOf(n as (typeof SEED_SIZES)[number]);
  const ours = times.sharedref.map(sampleOf);
  const bare = times.bare.map(sampleOf);
  const headline = at(HEADLINE_SIZE);
  const rows: Row[] = [
    {
      id: 'seed-per-call-vs-bare-v8',
      what: `seed loop in Wasm (raw ABI), ns per host call, 1 worker, ${HEADLINE_SIZE} iterations per call`,
      sample: ours[headline]!,
      baseline: 'same loop, bare V8 externref + JS strings, same thread',
      baselineSample: bare[headline]!,
      target: 10,
      gap: 'docs/performance.md: seed-per-call',
    },
    {
      id: 'seed-per-call-vs-slab',
      what: `seed loop in Wasm (raw ABI), ns per host call, 1 worker, ${HEADLINE_SIZE} iterations per call`,
      sample: ours[headline]!,
      baseline: 'same loop, hand-rolled shared slab, same thread',
      baselineSample: sampleOf(times.slab),
      target: 2,
      gap: 'docs/performance.md: seed-per-call',
    },
  ];
  SEED_SIZES.forEach((n, i) =>
    rows.push({
      id: `seed-per-call-n${n}`,
      what:
        `seed loop, ns per host call, ${n} iterations per call` +
        (n === HEADLINE_SIZE ? ' (the samples of the two rows above)' : ''),
      sample: ours[i]!,
      baseline: 'same loop and size, bare V8 externref',
      baselineSample: bare[i]!,
      target: 10,
      gap: 'docs/performance.md: seed-per-call',
    }),
  );
  // Flat: the cost per host call never rises with the iterations per call. Of every pair of sizes,
  // the larger one's median over the smaller one's, the largest such ratio.
  let rise = { from: 0, to: 0, ratio: 0 };
  for (let i = 0; i < SEED_SIZES.length; i++) {
    for (let j = i + 1; j < SEED_SIZES.length; j++) {
      const ratio = ours[j]!.median / ours[i]!.median;
      if (ratio > rise.ratio) rise = { from: i, to: j, ratio };
    }
  }
  rows.push({
    id: 'seed-per-call-flat',
    what:
      `seed loop, ns per host call at ${SEED_SIZES[rise.to]} iterations per call, the steepest rise ` +
      `between two of ${SEED_SIZES.join(', ')}`,
    sample: ours[rise.to]!,
    baseline: `same loop at ${SEED_SIZES[rise.from]} iterations per call (the smaller size)`,
    baselineSample: ours[rise.from]!,
    target: 1.3,
    gap: 'docs/performance.md: seed-per-call',
  });
  return rows;
}
