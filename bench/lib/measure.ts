/**
 * Measurement helpers for the benchmarks: repeated samples, medians and spreads. Every figure
 * is reported beside a baseline measured in the same process run, because the machine is shared
 * and noisy; only ratios of medians are compared with targets.
 */

/** Median and spread of one operation, in nanoseconds per operation. */
export interface Sample {
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
  readonly samples: number;
}

function summarize(perOp: number[]): Sample {
  const s = [...perOp].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p10: at(0.1), p90: at(0.9), samples: s.length };
}

/** Times `fn(iterations)` (which runs the operation `iterations` times) over `samples` runs. */
export function timeSync(fn: (iterations: number) => void, iterations: number, samples: number): Sample {
  fn(Math.max(1, iterations >> 2)); // warm-up
  const perOp: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = process.hrtime.bigint();
    fn(iterations);
    perOp.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  return summarize(perOp);
}

/**
 * Times `subject` and `baseline` (each `fn(iterations)`), alternating sample by sample, so that
 * a sample of each is taken at the same time: on this shared machine the speed of one thread
 * drifts over seconds, and a baseline timed before the subject divided a drift, not a cost.
 */
export function timeSyncPair(
  subject: (iterations: number) => void,
  baseline: (iterations: number) => void,
  iterations: number,
  samples: number,
): { subject: Sample; baseline: Sample } {
  subject(Math.max(1, iterations >> 2)); // warm-up
  baseline(Math.max(1, iterations >> 2));
  const a: number[] = [];
  const b: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = process.hrtime.bigint();
    subject(iterations);
    const t1 = process.hrtime.bigint();
    baseline(iterations);
    const t2 = process.hrtime.bigint();
    a.push(Number(t1 - t0) / iterations);
    b.push(Number(t2 - t1) / iterations);
  }
  return { subject: summarize(a), baseline: summarize(b) };
}

/** Times an async operation one call at a time (for round trips). */
export async function timeAsync(fn: () => Promise<unknown>, iterations: number, samples: number): Promise<Sample> {
  for (let i = 0; i < Math.max(1, iterations >> 2); i++) await fn();
  const perOp: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await fn();
    perOp.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  return summarize(perOp);
}

/** Formats nanoseconds for the table. */
export function fmt(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

/**
 * Times `subject` and `baseline` (async, one call at a time), alternating call by call, so that both
 * see the same machine state; on a shared, noisy machine this is what makes their ratio fair.
 */
export async function timeAsyncPair(
  subject: () => Promise<unknown>,
  baseline: () => Promise<unknown>,
  iterations: number,
  samples: number,
): Promise<{ subject: Sample; baseline: Sample }> {
  for (let i = 0; i < Math.max(1, iterations >> 2); i++) {
    await subject();
    await baseline();
  }
  // Alternate call by call, not block by block: a thread woken from sleep costs tens of µs more
  // than one still spinning, and this machine's scheduler changed that between blocks.
  const a: number[] = [];
  const b: number[] = [];
  for (let s = 0; s < samples; s++) {
    let ta = 0n;
    let tb = 0n;
    for (let i = 0; i < iterations; i++) {
      let t0 = process.hrtime.bigint();
      await subject();
      const t1 = process.hrtime.bigint();
      ta += t1 - t0;
      t0 = process.hrtime.bigint();
      await baseline();
      tb += process.hrtime.bigint() - t0;
    }
    a.push(Number(ta) / iterations);
    b.push(Number(tb) / iterations);
  }
  return { subject: summarize(a), baseline: summarize(b) };
}

/** Summarizes per-operation timings taken elsewhere (for example in a worker). */
export function sampleOf(perOp: number[]): Sample {
  return summarize(perOp);
}
