/**
 * Two minutes of the server soak (test/stress/server-soak.ts): the example HTTP server under a
 * seeded load of sessions created, appended to through Wasm, read, deleted and expired, its heap
 * narrowed so that handle generations wrap (how many times is in the printed report, not a check:
 * it follows the machine's speed). Live objects, RSS and the V8 heap stay flat, no request fails,
 * and every value is disposed at the end. Set SHAREDREF_SEED to replay a run.
 */
import { expect } from 'chai';
import { buildPackage } from '../build';
import { formatServerSummary } from './server-report';
import { runServerSoak } from './server-soak';

const SEED = Number(process.env.SHAREDREF_SEED ?? 0x50a4);

describe('server soak', () => {
  // Aborting kills the server process, also when the test fails or times out mid-run.
  let stop: AbortController | null = null;

  before(async function () {
    this.timeout(120_000);
    await buildPackage(); // the example server requires the built package
  });

  afterEach(() => {
    stop?.abort();
    stop = null;
  });

  it(
    `2 min of HTTP load on the example server keeps live objects, RSS and the heap flat, fails no ` +
      `request and disposes every value (seed ${SEED})`,
    async function () {
      this.timeout(300_000);
      stop = new AbortController();
      const summary = await runServerSoak({ minutes: 2, seed: SEED, signal: stop.signal });
      const report = formatServerSummary(summary);
      expect(summary.samples.length, report).to.be.at.least(12);
      expect(summary.requests, report).to.be.greaterThan(0);
      for (const kind of ['create', 'append', 'read', 'delete']) expect(summary.byKind[kind], kind).to.be.above(0);
      expect(summary.verdicts.errors.ok, report).to.equal(true);
      expect(summary.verdicts.live.ok, report).to.equal(true);
      expect(summary.verdicts.rss.ok, report).to.equal(true);
      expect(summary.verdicts.heapUsed.ok, report).to.equal(true);
      expect(summary.verdicts.disposed.ok, report).to.equal(true);
    },
  );
});
