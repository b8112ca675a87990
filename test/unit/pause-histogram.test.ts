/** The pause histogram: its bucket scheme in shared memory and the perf_hooks-style snapshot. */
import { expect } from 'chai';
import { createHistogram } from 'node:perf_hooks';
import { pauseHistogramOf } from '../../src/diagnostics/histogram';
import { computeLayout, PAUSE_BUCKETS } from '../../src/shared/layout';
import {
  MAX_PAUSE_US,
  bucketLow,
  bucketWidth,
  initPauseHistogram,
  pauseBucket,
  readPauseCounts,
  recordPause,
} from '../../src/shared/pause-histogram';
import { seeded } from '../helpers';

/** A histogram in a heap-sized buffer of its own, with `pausesUs` recorded. */
function recorded(pausesUs: readonly number[]) {
  const layout = computeLayout(16, 1, 16, 16);
  const i32 = new Int32Array(new SharedArrayBuffer(layout.totalWords * 4));
  initPauseHistogram(i32, layout);
  for (const us of pausesUs) recordPause(i32, layout, us / 1000);
  return pauseHistogramOf(readPauseCounts(i32, layout));
}

describe('pause histogram', () => {
  it('buckets tile 0 … 2^31 − 1 µs, each pause in the bucket that holds it, no wider than 1/16 of its low end', () => {
    expect(bucketLow(0)).to.equal(0);
    for (let b = 0; b < PAUSE_BUCKETS; b++) {
      const low = bucketLow(b);
      const width = bucketWidth(b);
      expect([b, pauseBucket(low), pauseBucket(low + width - 1)]).to.deep.equal([b, b, b]);
      if (b + 1 < PAUSE_BUCKETS) expect(bucketLow(b + 1), `bucket ${b}`).to.equal(low + width);
      if (low >= 32) expect(width * 16).to.be.at.most(low);
      else expect(width).to.equal(1);
    }
    expect(bucketLow(PAUSE_BUCKETS - 1) + bucketWidth(PAUSE_BUCKETS - 1) - 1).to.equal(MAX_PAUSE_US);
  });

  it('an empty histogram reads as zeros with no percentiles', () => {
    const h = recorded([]);
    expect(h.toJSON()).to.deep.equal({ count: 0, min: 0, max: 0, mean: 0, stddev: 0, percentiles: {} });
    expect(h.percentile(99)).to.equal(0);
  });

  it('below 32 µs every statistic is exact', () => {
    const h = recorded([3, 5, 5, 7, 30]);
    expect([h.count, h.min, h.max, h.mean]).to.deep.equal([5, 0.003, 0.03, 0.01]);
    expect(h.stddev).to.be.closeTo(Math.sqrt((49 + 25 + 25 + 9 + 400) / 5) / 1000, 1e-12);
    expect(h.percentile(50)).to.equal(0.005);
    expect(h.percentile(80)).to.equal(0.007);
    expect(h.percentile(100)).to.equal(0.03);
  });

  it('agrees with perf_hooks.createHistogram() on count and percentile keys, and within 1/16 elsewhere', () => {
    const rand = seeded(0x9a05e);
    const samples = Array.from({ length: 2000 }, () => 1 + Math.floor(Math.exp(rand() * Math.log(200_000))));
    const ours = recorded(samples);
    const node = createHistogram();
    for (const us of samples) node.record(us);
    expect(ours.count).to.equal(node.count);
    // Ours are exact; Node's max is the top of its bucket.
    expect([ours.min * 1000, ours.max * 1000]).to.deep.equal([Math.min(...samples), Math.max(...samples)]);
    expect([...ours.percentiles.keys()]).to.deep.equal([...node.percentiles.keys()]);
    const close = (a: number, b: number, what: string): void => {
      expect(Math.abs(a - b), `${what}: ${a} against ${b}`).to.be.at.most(b / 16 + 1);
    };
    close(ours.max * 1000, node.max, 'max');
    close(ours.mean * 1000, node.mean, 'mean');
    close(ours.stddev * 1000, node.stddev, 'stddev');
    for (const p of [25, 50, 90, 99, 99.9]) close(ours.percentile(p) * 1000, node.percentile(p), `p${p}`);
  });

  it('a pause longer than the largest bucket counts as 2^31 − 1 µs; a negative one as 0', () => {
    const h = recorded([-5, 3 * 2 ** 31]);
    expect([h.count, h.min, h.max]).to.deep.equal([2, 0, MAX_PAUSE_US / 1000]);
  });

  it('percentile() refuses a percentile outside 0 … 100 with a RangeError naming it', () => {
    const h = recorded([10]);
    for (const p of [-1, 100.5, Number.NaN]) {
      expect(() => h.percentile(p)).to.throw(RangeError, `percentile must be a number from 0 to 100, received ${p}`);
    }
  });
});
