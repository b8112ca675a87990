/**
 * Thirty seconds of the soak (test/stress/soak.ts): a mixed workload across the pool with
 * periodic worker kills and collections. Live objects and RSS stay flat, and the accounting after
 * the pool drains is exact. Set SHAREDREF_SEED to replay a run.
 */
import { expect } from 'chai';
import { formatSummary, runSoak } from './soak';

const SEED = Number(process.env.SHAREDREF_SEED ?? 0x50a4);

describe('soak', () => {
  it(
    `30 s of mixed work with worker kills keeps live objects and RSS flat and the accounting exact (seed ` + `${SEED})`,
    async function () {
      this.timeout(180_000);
      const summary = await runSoak({ minutes: 0.5, seed: SEED });
      const report = formatSummary(summary);
      expect(summary.samples.length, report).to.be.at.least(8);
      expect(summary.ops, report).to.be.greaterThan(0);
      expect(summary.kills, `workers were killed\n${report}`).to.be.greaterThan(0);
      expect(summary.collections, report).to.be.greaterThan(summary.samples.length);
      expect(summary.verdicts.errors.ok, report).to.equal(true);
      expect(summary.verdicts.live.ok, report).to.equal(true);
      expect(summary.verdicts.rss.ok, report).to.equal(true);
      expect(summary.verdicts.accounting.ok, report).to.equal(true);
    },
  );
});
