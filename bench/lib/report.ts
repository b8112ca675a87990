/**
 * What `npm run bench` prints and writes once every group has run: the verdict of each row, the
 * tables, `bench/results/latest.json`, and the charts. The benchmark's main process.
 *
 * A verdict is computed here, from the figures, and nowhere else: `pass` when the row's figure
 * meets its target, `MISS at <figure>` when it does not, `control` for A/A rows (their ratio is
 * the run's noise), `info` for comparisons with no target (an alternative that cannot do what
 * sharedref does). Rejected: a verdict that only says MISS; the figure it missed by is printed
 * with it, so a table read alone says how far each row is.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { type Bar, barChart } from './chart';
import { fmt } from './measure';
import type { CpuUse, SeedResult } from '../macro/seed';
import { SEED_SIZES } from '../macro/seed-per-call';
import { DESCRIPTIONS, type SessionsFigure, type SessionsResult } from '../macro/sessions/driver';
import { EVENTS_KEPT, RENEW_EVERY, SESSIONS } from '../macro/sessions/workload';
import type { Baseline, Row } from '../micro/core';

/** A row as printed: the median fork's figures, and every fork's figure (ratio, or median with no baseline). */
export type ForkedRow = Row & { readonly forks: readonly number[] };

/** A row with its verdict. */
export type JudgedRow = ForkedRow & {
  readonly ratio: number | null;
  readonly pass: boolean;
  readonly verdict: string;
};

/** The figure a row is judged by: its ratio to its baseline, or its median where it has none. */
export function figureOf(r: Row): number {
  if (r.baselineSample === null) return r.sample.median;
  return r.higherIsBetter === true
    ? r.baselineSample.median / r.sample.median
    : r.sample.median / r.baselineSample.median;
}

/** Judges `r` against its target. */
export function judge(r: ForkedRow): JudgedRow {
  const figure = figureOf(r);
  const ratio = r.baselineSample === null ? null : figure;
  const pass = r.higherIsBetter === true ? figure >= r.target : figure <= r.target;
  const shown = ratio === null ? fmt(figure) : `${figure.toFixed(2)}×`;
  const verdict = r.control === true ? 'control' : r.reference === true ? 'info' : pass ? 'pass' : `MISS at ${shown}`;
  return { ...r, ratio, pass, verdict };
}

function forkRange(r: JudgedRow): string {
  if (r.forks.length < 2) return '';
  const lo = Math.min(...r.forks);
  const hi = Math.max(...r.forks);
  return r.baselineSample === null ? `${fmt(lo)} – ${fmt(hi)}` : `${lo.toFixed(2)}–${hi.toFixed(2)}×`;
}

/** Prints the rows' table, then where each miss's gap is measured. */
export function printRows(rows: readonly JudgedRow[], forks: number): void {
  console.table(
    rows.map((r) => ({
      id: r.id,
      median: fmt(r.sample.median),
      'p10–p90': `${fmt(r.sample.p10)} – ${fmt(r.sample.p90)}`,
      baseline: r.baseline,
      'baseline median': r.baselineSample === null ? '' : fmt(r.baselineSample.median),
      ratio: r.ratio === null ? '' : `${r.ratio.toFixed(2)}×`,
      [`forks (${forks} for forked rows)`]: forkRange(r),
      target:
        r.baselineSample === null ? `≤ ${fmt(r.target)}` : `${r.higherIsBetter === true ? '≥' : '≤'} ${r.target}×`,
      verdict: r.verdict,
    })),
  );
  const missed = rows.filter((r) => r.verdict.startsWith('MISS') && r.gap !== undefined);
  if (missed.length > 0) {
    console.log('Misses, and where their gap is measured:');
    for (const r of missed) console.log(`  ${r.id}: ${r.gap}`);
  }
}

/** Prints the reference figures (no target). */
export function printBaselines(baselines: readonly Baseline[]): void {
  console.log('Reference figures (no target; for comparing designs):');
  console.table(
    baselines.map((b) => ({
      id: b.id,
      what: b.what,
      median: fmt(b.sample.median),
      'p10–p90': `${fmt(b.sample.p10)} – ${fmt(b.sample.p90)}`,
    })),
  );
}

const kOps = (v: number): string => `${(v / 1000).toFixed(1)} k/s`;

/** Prints the shared-sessions workload side by side. */
export function printSessions(s: SessionsResult): void {
  console.log(
    `Shared sessions (${SESSIONS} sessions of ${EVENTS_KEPT} events; a request reads one and appends to another, ` +
      `1 in ${RENEW_EVERY} renews one; dispatched by the main thread, 2 in flight per worker; medians over rounds):`,
  );
  const ours = (w: number): SessionsFigure =>
    s.figures.find((f) => f.implementation === 'sharedref' && f.workers === w)!;
  console.table(
    s.figures.map((f) => ({
      implementation: DESCRIPTIONS[f.implementation],
      workers: f.workers,
      'requests/s': kOps(f.requestsPerSecond),
      p50: fmt(f.p50),
      p99: fmt(f.p99),
      'sharedref throughput ×': (ours(f.workers).requestsPerSecond / f.requestsPerSecond).toFixed(2),
      'sharedref p99 ×': (ours(f.workers).p99 / f.p99).toFixed(2),
      retries: f.implementation === 'copies' ? f.retries : '',
    })),
  );
  console.log('One request at a time on the 1-worker pool, p50 by part (the read: whole request − append alone):');
  console.table(
    s.parts.map((p) => ({
      implementation: DESCRIPTIONS[p.implementation],
      'dispatch alone': fmt(p.dispatch),
      'append alone': fmt(p.append),
      'whole request': fmt(p.full),
      'append − dispatch': fmt(p.append - p.dispatch),
      'read (whole − append)': fmt(p.full - p.append),
    })),
  );
}

/** Prints where the seed workload's CPU went. */
export function printSeedCpu(seed: SeedResult): void {
  const kcalls = (v: number): string => `${(v / 1000).toFixed(0)} k host calls/s`;
  console.log(
    `seed workload: bare 1 thread ${kcalls(seed.bare)}, sharedref 1 worker ${kcalls(seed.one)}, 2 workers ` +
      `${kcalls(seed.two)}`,
  );
  const use = (c: CpuUse): string =>
    `${c.total.toFixed(2)} cores: worker${c.workers.length > 1 ? 's' : ''} ` +
    `${c.workers.map((w) => w.toFixed(2)).join(' + ')}, main ${c.main.toFixed(2)}, ` +
    `coordinator and helper threads ${c.other.toFixed(2)} (busiest ${c.busiestOther.toFixed(2)})`;
  if (seed.cpuOne !== null && seed.cpuTwo !== null && seed.ceiling !== null) {
    console.log(`seed workload CPU (${availableParallelism()} cores here): 1 worker used ${use(seed.cpuOne)}`);
    console.log(`                                     2 workers used ${use(seed.cpuTwo)}`);
    console.log(
      `  at the 1-worker run's CPU per host call, ${availableParallelism()} cores allow at most ` +
        `${seed.ceiling.toFixed(2)}× its throughput (target ${seed.row.target}×)`,
    );
  }
}

/** The seed loop per host call, from the median fork's per-call rows. */
function seedPerCallOf(rows: readonly JudgedRow[]): {
  sizes: readonly number[];
  sharedrefNs: number[];
  bareV8Ns: number[];
  slabNs: number | null;
} {
  const byId = (id: string): JudgedRow | undefined => rows.find((r) => r.id === id);
  return {
    sizes: SEED_SIZES,
    sharedrefNs: SEED_SIZES.map((n) => byId(`seed-per-call-n${n}`)?.sample.median ?? NaN),
    bareV8Ns: SEED_SIZES.map((n) => byId(`seed-per-call-n${n}`)?.baselineSample?.median ?? NaN),
    slabNs: byId('seed-per-call-vs-slab')?.baselineSample?.median ?? null,
  };
}

/** Writes latest.json, macro.svg and peers.svg into `dir`. */
export function writeResults(
  dir: string,
  run: { quick: boolean; seconds: number },
  rows: readonly JudgedRow[],
  baselines: readonly Baseline[],
  seed: SeedResult,
  sessions: SessionsResult,
): void {
  mkdirSync(dir, { recursive: true });
  const perCall = seedPerCallOf(rows);
  const json = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30) },
    node: process.version,
    quick: run.quick,
    seconds: Math.round(run.seconds),
    rows: rows.map((r) => ({
      id: r.id,
      what: r.what,
      median: r.sample.median,
      unit: 'ns',
      p10: r.sample.p10,
      p90: r.sample.p90,
      baseline: r.baseline,
      baselineMedian: r.baselineSample?.median ?? null,
      ratio: r.ratio,
      target: r.target,
      higherIsBetter: r.higherIsBetter === true,
      pass: r.pass,
      verdict: r.verdict,
      control: r.control === true,
      reference: r.reference === true,
      forks: r.forks,
    })),
    baselines: baselines.map((b) => ({
      id: b.id,
      what: b.what,
      median: b.sample.median,
      unit: 'ns',
      p10: b.sample.p10,
      p90: b.sample.p90,
    })),
    macro: {
      seedCallsPerSecond: { bare1Thread: seed.bare, sharedref1Worker: seed.one, sharedref2Workers: seed.two },
      // Cores used (CPU seconds per wall second) by each run, and the scaling the machine allows at the 1-worker
      // run's CPU per call.
      seedCpu: {
        cores: availableParallelism(),
        oneWorker: seed.cpuOne,
        twoWorkers: seed.cpuTwo,
        ceiling2v1: seed.ceiling,
      },
      // ns per host call in one worker, by iterations per outer call (the median fork of the per-call rows).
      seedPerCall: perCall,
      sessions: {
        sessions: SESSIONS,
        eventsKept: EVENTS_KEPT,
        renewEvery: RENEW_EVERY,
        figures: sessions.figures,
        parts: sessions.parts,
      },
    },
  };
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(json, null, 2) + '\n');
  writeFileSync(join(dir, 'macro.svg'), seedChart(perCall, seed));
  writeFileSync(join(dir, 'peers.svg'), peersChart(sessions.figures));
}

function seedChart(perCall: ReturnType<typeof seedPerCallOf>, seed: SeedResult): string {
  const at = SEED_SIZES.indexOf(2000);
  const bare = perCall.bareV8Ns[at]!;
  // Each ratio against the bare loop at the same size, as in the rows.
  const times = (v: number, base: number): string => `(${(v / base).toFixed(1)}× bare V8)`;
  const perCallBars: Bar[] = [
    { label: 'bare V8 externref, JS strings', value: bare },
    ...(perCall.slabNs === null
      ? []
      : [{ label: 'hand-rolled shared slab', value: perCall.slabNs, note: times(perCall.slabNs, bare) }]),
    ...SEED_SIZES.map((n, i) => ({
      label: `sharedref raw ABI, ${n} iterations/call`,
      value: perCall.sharedrefNs[i]!,
      note: times(perCall.sharedrefNs[i]!, perCall.bareV8Ns[i]!),
      highlight: true,
    })),
  ];
  const mcalls = (v: number): string => `${(v / 1e6).toFixed(2)} M host calls/s`;
  return barChart('Seed workload: Wasm calling host-string new + concat in a loop', [
    {
      title: 'ns per host call in one worker thread, 2000 iterations per call unless said (lower is better)',
      bars: perCallBars,
      format: (v) => fmt(v),
    },
    {
      title: 'throughput, host calls per second (higher is better)',
      bars: [
        { label: 'bare V8 externref, 1 thread', value: seed.bare },
        { label: 'sharedref raw ABI, 1 worker', value: seed.one, highlight: true },
        { label: 'sharedref raw ABI, 2 workers', value: seed.two, highlight: true },
      ],
      format: mcalls,
    },
  ]);
}

function peersChart(figures: readonly SessionsFigure[]): string {
  const label = (f: SessionsFigure): string => `${f.implementation}, ${f.workers} worker${f.workers > 1 ? 's' : ''}`;
  const ordered = [...figures].sort((a, b) => a.workers - b.workers);
  return barChart(`Shared sessions: ${SESSIONS} sessions shared by the workers of a pool, same run`, [
    {
      title: 'throughput, requests per second (higher is better)',
      bars: ordered.map((f) => ({
        label: label(f),
        value: f.requestsPerSecond,
        highlight: f.implementation === 'sharedref',
      })),
      format: kOps,
    },
    {
      title: 'p99 latency, dispatch to answer (lower is better)',
      bars: ordered.map((f) => ({ label: label(f), value: f.p99, highlight: f.implementation === 'sharedref' })),
      format: (v) => fmt(v),
    },
  ]);
}
