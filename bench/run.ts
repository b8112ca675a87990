/**
 * `npm run bench [-- --quick] [--only local,cross,gc,wasm,seedPerCall]`: runs every benchmark group, prints one
 * table of rows (operation, median, p10–p90, baseline and its median, ratio, the range of the forks' figures, target,
 * verdict), the shared-sessions comparison and the reference figures, and writes
 * bench/results/latest.json, macro.svg and peers.svg (bench/lib/report.ts).
 *
 * The main process runs nothing itself: each group runs in a Node process of its own, and the
 * single-operation groups and the seed loop per host call in several (`forked`), because rows
 * timed after other rows in one process measured differently. Progress lines go to stderr.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ForkedRow,
  figureOf,
  judge,
  printBaselines,
  printRows,
  printSeedCpu,
  printSessions,
  writeResults,
} from './lib/report';
import { type SeedResult, runSeed } from './macro/seed';
import { runSeedPerCall } from './macro/seed-per-call';
import { type SessionsResult, runSessions } from './macro/sessions/driver';
import { type Baseline, type Row, runBaselines, runCross, runGc, runLocal } from './micro/core';
import { runWasm } from './micro/wasm';

/** The benchmark groups. Each runs in a process of its own (see `inOwnProcess`). */
const GROUPS = {
  seed: (quick: boolean, progress: Progress): Promise<SeedResult> => runSeed(quick, progress),
  seedPerCall: (quick: boolean, progress: Progress): Promise<Row[]> => runSeedPerCall(quick, progress),
  local: (quick: boolean, progress: Progress): Promise<Row[]> => runLocal(quick, progress),
  cross: (quick: boolean, progress: Progress): Promise<Row[]> => runCross(quick, progress),
  gc: (quick: boolean, progress: Progress): Promise<Row[]> => runGc(quick, progress),
  wasm: (quick: boolean, progress: Progress): Promise<Row[]> => runWasm(quick, progress),
  sessions: (quick: boolean, progress: Progress): Promise<SessionsResult> => runSessions(quick, progress),
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

/**
 * Runs `group` in `forks` fresh processes, one after another, and keeps for each row the fork
 * whose figure is the median of the forks' (every fork's figure is kept beside it). The same
 * build, run in fresh processes, put clone-drop anywhere between 1.31× and 1.59×, and a
 * cross-thread row's ratio depends on which cores its threads landed on in that process; a
 * single process is one draw of both. JMH runs several forks for the same reason.
 */
async function forked(
  group: 'seedPerCall' | 'local' | 'cross' | 'wasm',
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

/** A row measured in one process: its only figure is its fork range. */
const once = (r: Row): ForkedRow => ({ ...r, forks: [figureOf(r)] });

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
  const only = argAfter('--only');
  if (only !== undefined) {
    // A quick look at some groups while working (`npm run bench -- --quick --only local,wasm`):
    // their rows only, nothing written.
    const rows: ForkedRow[] = [];
    for (const g of only.split(',')) {
      if (g === 'local' || g === 'cross' || g === 'wasm' || g === 'seedPerCall')
        rows.push(...(await forked(g, quick, started, forks)));
      else if (g === 'gc') rows.push(...(await inOwnProcess('gc', quick, started)).map(once));
      else throw new Error(`--only takes local, cross, gc, wasm, seedPerCall; received ${JSON.stringify(g)}`);
    }
    printRows(rows.map(judge), forks);
    return;
  }
  const seed = await inOwnProcess('seed', quick, started);
  const perCall = await forked('seedPerCall', quick, started, forks);
  const local = await forked('local', quick, started, forks);
  const cross = await forked('cross', quick, started, forks);
  const gc = (await inOwnProcess('gc', quick, started)).map(once);
  const wasm = await forked('wasm', quick, started, forks);
  const sessions = await inOwnProcess('sessions', quick, started);
  const baselines = await inOwnProcess('baselines', quick, started);
  const rows = [...local, ...cross, ...gc, ...wasm, once(seed.row), ...perCall, ...sessions.rows.map(once)].map(judge);
  printRows(rows, forks);
  printSessions(sessions);
  printBaselines(baselines);
  printSeedCpu(seed);
  const seconds = (Date.now() - started) / 1000;
  writeResults(join(__dirname, 'results'), { quick, seconds }, rows, baselines, seed, sessions);
  process.stderr.write(`wrote bench/results/latest.json, macro.svg and peers.svg in ${seconds.toFixed(0)} s\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
