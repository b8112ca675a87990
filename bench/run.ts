/**
 * `npm run bench [-- --quick]`: runs the benchmarks, prints one table (operation, median, p10–p90,
 * baseline and its median, ratio, the range of the forks' ratios, target, verdict) and writes
 * bench/results/latest.json.
 * A/A control rows get the verdict `control`: their ratio is the run's noise, not a result. A
 * row that misses a target whose gap is measured in docs/performance.md says where. Each group of
 * rows (seed, local, cross-thread, gc, wasm, reference figures) runs in a Node process of its
 * own, and the local, cross-thread and wasm groups in several (`forked`).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { barChart } from './lib/chart';
import { fmt } from './lib/measure';
import { type CpuUse, type SeedResult, runSeed } from './macro/seed';
import { type Baseline, type Row, runBaselines, runCross, runGc, runLocal } from './micro/core';
import { runWasm } from './micro/wasm';

/** The benchmark groups. Each runs in a process of its own (see `inOwnProcess`). */
const GROUPS = {
  seed: (quick: boolean, progress: Progress): Promise<SeedResult> => runSeed(quick, progress),
  local: (quick: boolean, progress: Progress): Promise<Row[]> => runLocal(quick, progress),
  cross: (quick: boolean, progress: Progress): Promise<Row[]> => runCross(quick, progress),
  gc: (quick: boolean, progress: Progress): Promise<Row[]> => runGc(quick, progress),
  wasm: (quick: boolean, progress: Progress): Promise<Row[]> => runWasm(quick, progress),
  baselines: async (quick: boolean, progress: Progress): Promise<Baseline[]> => {
    progress('reference figures (Wasm atomics, JS slab)');
    return runBaselines(quick);
  },
};
type Group = keyof typeof GROUPS;
type Progress = (msg: string) => void;

/**
 * Runs one group in a fresh Node process and returns what it measured. Rows timed after other
 * rows in one process measured differently: V8's type feedback and compiled code for the shared
 * functions (roots, scopes) carry over from row to row. The Wasm rows, run after the micro rows in
 * one process, gave 5.7–13.8× where alone they gave 4.8–7.8× (four runs each). JMH forks a JVM
 * per benchmark for the same reason.
 */
function inOwnProcess<G extends Group>(
  group: G,
  quick: boolean,
  started: number,
  label = '',
): Promise<Awaited<ReturnType<(typeof GROUPS)[G]>>> {
  const dir = mkdtempSync(join(tmpdir(), 'sharedref-bench-'));
  const out = join(dir, `${group}.json`);
  const args = [
    ...process.execArgv,
    __filename,
    '--group',
    group,
    '--out',
    out,
    '--started',
    String(started),
    '--label',
    label,
    ...(quick ? ['--quick'] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      try {
        if (code !== 0) throw new Error(`bench group ${group} failed (${signal ?? `exit code ${code}`})`);
        resolve(JSON.parse(readFileSync(out, 'utf8')));
      } catch (err) {
        reject(err);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/** A row as printed: the median fork's figures, and every fork's ratio (or median, for a row with no baseline). */
type ForkedRow = Row & { readonly forks: readonly number[] };

/** The figure a row is judged by: its ratio to its baseline, or its median where it has none. */
function figureOf(r: Row): number {
  if (r.baselineSample === null) return r.sample.median;
  return r.higherIsBetter === true
    ? r.baselineSample.median / r.sample.median
    : r.sample.median / r.baselineSample.median;
}

/**
 * Runs `group` in `forks` fresh processes, one after another, and keeps for each row the fork
 * whose figure is the median of the forks' (every fork's figure is kept beside it). The same
 * build, run in fresh processes, put clone-drop anywhere between 1.31× and 1.59×, and a
 * cross-thread row's ratio depends on which cores its threads landed on in that process; a
 * single process is one draw of both. JMH runs several forks for the same reason.
 */
async function forked(
  group: 'local' | 'cross' | 'wasm',
  quick: boolean,
  started: number,
  forks: number,
): Promise<ForkedRow[]> {
  const runs: Row[][] = [];
  for (let f = 0; f < forks; f++) runs.push(await inOwnProcess(group, quick, started, `fork ${f + 1} of ${forks}`));
  return runs[0]!.map((first) => {
    const all = runs.map((rows) => rows.find((r) => r.id === first.id)!);
    const byFigure = [...all].sort((a, b) => figureOf(a) - figureOf(b));
    return { ...byFigure[(byFigure.length - 1) >> 1]!, forks: all.map(figureOf) };
  });
}

/** In a group's own process: runs it and writes its result to `--out`. */
async function runGroup(group: string, out: string, quick: boolean, progress: Progress): Promise<void> {
  if (!(group in GROUPS))
    throw new Error(`unknown bench group ${JSON.stringify(group)}; expected one of ${Object.keys(GROUPS).join(', ')}`);
  const result = await GROUPS[group as Group](quick, progress);
  writeFileSync(out, JSON.stringify(result));
}

function argAfter(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const started = Number(argAfter('--started') ?? Date.now());
  const label = argAfter('--label') ?? '';
  const progress: Progress = (msg) =>
    void process.stderr.write(
      `  … ${msg}${label === '' ? '' : `, ${label}`} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
    );
  const group = argAfter('--group');
  if (group !== undefined) {
    await runGroup(group, argAfter('--out') ?? '', quick, progress);
    return;
  }
  const forks = quick ? 3 : 5;
  const seed = await inOwnProcess('seed', quick, started);
  const rows: ForkedRow[] = [
    ...(await forked('local', quick, started, forks)),
    ...(await forked('cross', quick, started, forks)),
    ...(await inOwnProcess('gc', quick, started)).map((r) => ({ ...r, forks: [figureOf(r)] })),
    ...(await forked('wasm', quick, started, forks)),
    { ...seed.row, forks: [figureOf(seed.row)] },
  ];
  const baselines = await inOwnProcess('baselines', quick, started);
  const out = rows.map((r) => {
    if (r.baselineSample === null) return { ...r, ratio: null, pass: r.sample.median <= r.target };
    const ratio = figureOf(r);
    return { ...r, ratio, pass: r.higherIsBetter === true ? ratio >= r.target : ratio <= r.target };
  });
  const forkRange = (r: ForkedRow): string => {
    if (r.forks.length < 2) return '';
    const lo = Math.min(...r.forks);
    const hi = Math.max(...r.forks);
    return r.baselineSample === null ? `${fmt(lo)} – ${fmt(hi)}` : `${lo.toFixed(2)}–${hi.toFixed(2)}×`;
  };
  const table = out.map((r) => ({
    id: r.id,
    median: fmt(r.sample.median),
    'p10–p90': `${fmt(r.sample.p10)} – ${fmt(r.sample.p90)}`,
    baseline: r.baseline,
    'baseline median': r.baselineSample === null ? '' : fmt(r.baselineSample.median),
    ratio: r.ratio === null ? '' : `${r.ratio.toFixed(2)}×`,
    [`${forks} forks`]: forkRange(r),
    target: r.baselineSample === null ? `≤ ${fmt(r.target)}` : `${r.higherIsBetter === true ? '≥' : '≤'} ${r.target}×`,
    verdict: r.control === true ? 'control' : r.pass ? 'pass' : r.gap !== undefined ? `MISS (${r.gap})` : 'MISS',
  }));
  console.table(table);
  console.log('Reference figures (no target; for comparing designs):');
  console.table(
    baselines.map((b) => ({
      id: b.id,
      what: b.what,
      median: fmt(b.sample.median),
      'p10–p90': `${fmt(b.sample.p10)} – ${fmt(b.sample.p90)}`,
    })),
  );
  const json = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30) },
    node: process.version,
    quick,
    rows: out.map((r) => ({
      id: r.id,
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
      control: r.control === true,
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
  };
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  const macro = {
    seedCallsPerSecond: { bare1Thread: seed.bare, sharedref1Worker: seed.one, sharedref2Workers: seed.two },
    // Cores used (CPU seconds per wall second) by each run, and the scaling the machine allows at the 1-worker run's
    // CPU per call.
    seedCpu: {
      cores: availableParallelism(),
      oneWorker: seed.cpuOne,
      twoWorkers: seed.cpuTwo,
      ceiling2v1: seed.ceiling,
    },
  };
  writeFileSync(join(__dirname, 'results', 'latest.json'), JSON.stringify({ ...json, macro }, null, 2) + '\n');
  const kcalls = (v: number): string => `${(v / 1000).toFixed(0)} k host calls/s`;
  writeFileSync(
    join(__dirname, 'results', 'macro.svg'),
    barChart(
      'Seed workload (host-string new + concat from Wasm), throughput',
      [
        { label: 'bare V8 externref, 1 thread', value: seed.bare },
        { label: 'sharedref raw ABI, 1 worker', value: seed.one },
        { label: 'sharedref raw ABI, 2 workers', value: seed.two },
      ],
      kcalls,
    ),
  );
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
  process.stderr.write(
    `wrote bench/results/latest.json and macro.svg in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
