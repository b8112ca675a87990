/**
 * The collection-pause histogram in shared memory: its bucket scheme, the coordinator's
 * `recordPause`, and the read every thread's `heap.pauseHistogram()` starts from.
 *
 * Any thread reads; the coordinator alone writes (the contract is beside `PH_*` in layout.ts).
 * Buckets are log-linear, as in HdrHistogram (the histogram behind `perf_hooks.createHistogram()`):
 * a pause of `v` µs below 32 has a bucket of its own; above, each power of two [2^e, 2^(e+1)) is cut
 * into 16 buckets 2^(e−4) wide, so a bucket's bounds are within 1/16 of each other. 448 words
 * cover 0 µs to 35 minutes; a longer pause counts as the largest.
 *
 * Rejected: recording into a `perf_hooks` histogram on the coordinator. Reading it would take a
 * round trip, where `stats()` and `pauseHistogram()` are synchronous and read shared memory; and a
 * histogram object cannot be rebuilt from its counts on another thread without replaying every
 * sample. Also rejected: a sum and a sum of squares beside the buckets for an exact mean and
 * standard deviation. They need 64-bit words written as a pair, and HdrHistogram computes both
 * from the buckets too.
 */
import { type Layout, PAUSE_BUCKETS, PH_BUCKETS, PH_MAX, PH_MIN } from './layout';

/** Pauses are recorded in whole µs in [0, MAX_PAUSE_US]. */
export const MAX_PAUSE_US = 0x7fffffff;
/** Pauses below this many µs have a bucket each. */
const EXACT = 32;
/** log2 of the buckets per power of two above EXACT. */
const SUB_BITS = 4;

/** The bucket of a pause of `us` whole microseconds (0 ≤ us ≤ MAX_PAUSE_US). */
export function pauseBucket(us: number): number {
  if (us < EXACT) return us;
  const e = 31 - Math.clz32(us); // 2^e ≤ us < 2^(e+1), e ≥ 5
  const sub = (us >>> (e - SUB_BITS)) & ((1 << SUB_BITS) - 1);
  return EXACT + ((e - 5) << SUB_BITS) + sub;
}

/** The smallest pause, in µs, that falls in `bucket`. */
export function bucketLow(bucket: number): number {
  if (bucket < EXACT) return bucket;
  const e = ((bucket - EXACT) >>> SUB_BITS) + 5;
  const sub = (bucket - EXACT) & ((1 << SUB_BITS) - 1);
  return ((1 << SUB_BITS) + sub) * 2 ** (e - SUB_BITS);
}

/** How many whole-µs values fall in `bucket` (1 below 32 µs). */
export function bucketWidth(bucket: number): number {
  if (bucket < EXACT) return 1;
  return 2 ** (((bucket - EXACT) >>> SUB_BITS) + 5 - SUB_BITS);
}

/** The creator only, before any other thread sees the buffer: an empty histogram (plain writes). */
export function initPauseHistogram(i32: Int32Array, layout: Layout): void {
  i32[layout.pauseHistogram + PH_MIN] = MAX_PAUSE_US;
}

/**
 * Coordinator only, once per collection: records a pause of `ms` milliseconds. Min and max
 * first, then the bucket, whose add publishes them (readers load the buckets first).
 */
export function recordPause(i32: Int32Array, layout: Layout, ms: number): void {
  const base = layout.pauseHistogram;
  const us = Math.min(MAX_PAUSE_US, Math.max(0, Math.round(ms * 1000)));
  if (us < Atomics.load(i32, base + PH_MIN)) Atomics.store(i32, base + PH_MIN, us);
  if (us > Atomics.load(i32, base + PH_MAX)) Atomics.store(i32, base + PH_MAX, us);
  Atomics.add(i32, base + PH_BUCKETS + pauseBucket(us), 1);
}

/** The histogram's words as read by any thread: pauses per bucket, then min and max in µs. */
export interface PauseCounts {
  readonly buckets: Uint32Array;
  /** Smallest pause in µs; `MAX_PAUSE_US` while no bucket counts one. */
  readonly minUs: number;
  readonly maxUs: number;
}

/** Reads the histogram: the buckets first, then min and max (see `recordPause`). */
export function readPauseCounts(i32: Int32Array, layout: Layout): PauseCounts {
  const base = layout.pauseHistogram + PH_BUCKETS;
  const buckets = new Uint32Array(PAUSE_BUCKETS);
  for (let b = 0; b < PAUSE_BUCKETS; b++) buckets[b] = Atomics.load(i32, base + b);
  return {
    buckets,
    minUs: Atomics.load(i32, layout.pauseHistogram + PH_MIN),
    maxUs: Atomics.load(i32, layout.pauseHistogram + PH_MAX),
  };
}
