/**
 * `heap.pauseHistogram()`: a snapshot of the collection pauses, shaped like a `perf_hooks`
 * histogram (`count`, `min`, `max`, `mean`, `stddev`, `percentiles`, `percentile(p)`), in
 * milliseconds.
 *
 * Any thread; built from the shared buckets (shared/pause-histogram.ts), no round trip. As in
 * HdrHistogram (what `perf_hooks.createHistogram()` is), `min` and `max` are exact to the
 * microsecond, and `mean`, `stddev` and the percentiles are computed from the buckets: a
 * percentile is the top of its bucket (at most `max`), within 1/16 of the pause it stands for,
 * and exact below 32 µs.
 *
 * Rejected: answering a real `perf_hooks` `Histogram`. It cannot be filled from bucket counts
 * without recording every pause again, one call each.
 */
import type { PauseCounts } from '../shared/pause-histogram';
import { bucketLow, bucketWidth } from '../shared/pause-histogram';

/** The collection pauses of a heap: every collection `stats().collections` counts, background slices included. */
export interface PauseHistogram {
  /** Collections recorded. */
  readonly count: number;
  /** The shortest pause, in ms (0 while `count` is 0). */
  readonly min: number;
  /** The longest pause, in ms (0 while `count` is 0). */
  readonly max: number;
  /** The mean pause, in ms (from the buckets; 0 while `count` is 0). */
  readonly mean: number;
  /** The standard deviation of the pauses, in ms (from the buckets; 0 while `count` is 0). */
  readonly stddev: number;
  /**
   * Pauses at percentiles, as `perf_hooks` lists them: 0 (the minimum), 50, 75, 87.5, … halving
   * the rest each time until every pause is below, then 100 (the maximum). Empty while `count` is 0.
   */
  readonly percentiles: ReadonlyMap<number, number>;
  /** The pause, in ms, that `percentile` percent of the pauses do not exceed (0 … 100; 0 while `count` is 0). */
  percentile(percentile: number): number;
  /** The same fields as a plain object, with `percentiles` as an object (for `JSON.stringify`). */
  toJSON(): PauseHistogramJson;
}

/** {@link PauseHistogram} as JSON. */
export interface PauseHistogramJson {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
  readonly percentiles: Readonly<Record<string, number>>;
}

/** A snapshot of the shared histogram's counts. */
export function pauseHistogramOf(counts: PauseCounts): PauseHistogram {
  return new Snapshot(counts);
}

class Snapshot implements PauseHistogram {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
  readonly percentiles: ReadonlyMap<number, number>;
  readonly #counts: PauseCounts;

  constructor(counts: PauseCounts) {
    this.#counts = counts;
    const { buckets } = counts;
    let n = 0;
    let sum = 0;
    for (let b = 0; b < buckets.length; b++) {
      n += buckets[b]!;
      sum += buckets[b]! * this.#valueOf(b);
    }
    this.count = n;
    if (n === 0) {
      this.min = this.max = this.mean = this.stddev = 0;
      this.percentiles = new Map();
      return;
    }
    const meanUs = sum / n;
    let squares = 0;
    for (let b = 0; b < buckets.length; b++) squares += buckets[b]! * (this.#valueOf(b) - meanUs) ** 2;
    this.min = counts.minUs / 1000;
    this.max = counts.maxUs / 1000;
    this.mean = meanUs / 1000;
    this.stddev = Math.sqrt(squares / n) / 1000;
    const percentiles = new Map<number, number>([[0, this.min]]);
    for (let k = 1; k < 53; k++) {
      const p = 100 * (1 - 2 ** -k);
      percentiles.set(p, this.percentile(p));
      if (Math.ceil((p / 100) * n) >= n) break;
    }
    percentiles.set(100, this.max);
    this.percentiles = percentiles;
  }

  percentile(percentile: number): number {
    if (typeof percentile !== 'number' || !(percentile >= 0 && percentile <= 100)) {
      throw new RangeError(`percentile must be a number from 0 to 100, received ${String(percentile)}`);
    }
    if (this.count === 0) return 0;
    if (percentile === 0) return this.min;
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.count));
    const { buckets } = this.#counts;
    let seen = 0;
    for (let b = 0; b < buckets.length; b++) {
      seen += buckets[b]!;
      if (seen >= rank) return this.#clamp(bucketLow(b) + bucketWidth(b) - 1) / 1000;
    }
    return this.max;
  }

  toJSON(): PauseHistogramJson {
    return {
      count: this.count,
      min: this.min,
      max: this.max,
      mean: this.mean,
      stddev: this.stddev,
      percentiles: Object.fromEntries([...this.percentiles].map(([p, v]) => [String(p), v])),
    };
  }

  /** The pause a bucket's counts stand for, in µs: its middle, within the exact min and max. */
  #valueOf(bucket: number): number {
    return this.#clamp(bucketLow(bucket) + (bucketWidth(bucket) - 1) / 2);
  }

  #clamp(us: number): number {
    return Math.min(this.#counts.maxUs, Math.max(this.#counts.minUs, us));
  }
}
