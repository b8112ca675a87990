/**
 * The server soak's report: the printed table and summary, the JSON record and the SVG chart.
 *
 * Runs in the soak's process (`npm run soak`). The JSON is the whole `ServerSoakSummary`, so a
 * chart can be drawn again from it (`serverChart`); both go to bench/results/, which git ignores
 * (a run worth keeping is copied under docs/ by hand, with the doc that reads it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChart } from '../../bench/lib/chart';
import { repo } from '../build';
import type { ServerSample, ServerSoakSummary, Verdict } from './server-soak';

const COLUMNS = [
  ['elapsed_s', 9],
  ['live', 7],
  ['sessions', 9],
  ['rss_MiB', 9],
  ['heap_MiB', 9],
  ['wraps', 10],
  ['req/s', 8],
  ['p50_ms', 8],
  ['p99_ms', 8],
  ['errors', 7],
  ['srv_cpu%', 9],
  ['load', 6],
] as const;

/** The header line of the printed table. */
export function serverHeader(): string {
  return COLUMNS.map(([c, w]) => c.padStart(w)).join('');
}

/** One printed line per sample. */
export function formatServerSample(s: ServerSample): string {
  const cells = [
    s.elapsedS.toFixed(1),
    String(s.live),
    String(s.sessions),
    s.rssMiB.toFixed(1),
    s.heapUsedMiB.toFixed(1),
    String(s.wraps),
    s.rps.toFixed(0),
    s.p50Ms.toFixed(2),
    s.p99Ms.toFixed(2),
    String(s.errors),
    s.serverCpuPct.toFixed(0),
    s.load1.toFixed(2),
  ];
  return cells.map((c, i) => c.padStart(COLUMNS[i]![1])).join('');
}

/** The printed summary and verdict. */
export function formatServerSummary(sum: ServerSoakSummary): string {
  const v = sum.verdicts;
  const line = (name: string, x: Verdict): string => `  ${name.padEnd(11)} ${x.ok ? 'ok  ' : 'FAIL'}  ${x.detail}`;
  const kinds = Object.entries(sum.byKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    `summary: ${sum.requests} requests (${kinds}) from ${sum.clients} clients, ${sum.expired} found expired; ` +
      `${sum.created} objects created; ${sum.wraps} generation wraps with ${sum.generationBits} generation bits ` +
      `(${(sum.wraps / sum.capacity).toFixed(1)} per slot of ${sum.capacity})`,
    line('live flat', v.live),
    line('rss flat', v.rss),
    line('heap flat', v.heapUsed),
    line('errors', v.errors),
    line('disposed', v.disposed),
    ...sum.errors.map((e) => `    ${e}`),
    sum.ok ? 'PASS' : 'FAIL',
  ].join('\n');
}

/** Writes `summary` as JSON and its chart as SVG into `dir` (bench/results/ by default); returns the paths. */
export function writeServerResults(
  summary: ServerSoakSummary,
  dir = join(repo, 'bench', 'results'),
): { json: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'soak-server.json');
  const svg = join(dir, 'soak-server.svg');
  writeFileSync(json, JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(svg, serverChart(summary));
  return { json, svg };
}

/** The chart of a run: live and sessions, memory, latency, request rate and wraps over time. */
export function serverChart(sum: ServerSoakSummary): string {
  const min = (s: ServerSample): number => s.elapsedS / 60;
  const line = (label: string, y: (s: ServerSample) => number): { label: string; points: [number, number][] } => ({
    label,
    points: sum.samples.map((s) => [min(s), y(s)]),
  });
  const int = (v: number): string => String(Math.round(v));
  const subtitle =
    `${sum.clients} clients, TTL ${sum.ttlMs} ms, ${sum.threads} pool thread${sum.threads === 1 ? '' : 's'}, ` +
    `capacity ${sum.capacity}, generationBits ${sum.generationBits}, seed ${sum.seed}; ` +
    `${sum.machine.cpus} cores, Node ${sum.machine.node}` +
    (sum.commit === null ? '' : `; commit ${sum.commit}`);
  return lineChart({
    title: `sharedref: the example server under load for ${sum.minutes} min`,
    subtitle,
    xLabel: 'minutes',
    xMax: sum.minutes,
    panels: [
      {
        title: 'objects (after a collection)',
        series: [line('live', (s) => s.live), line('live − sessions', (s) => s.live - s.sessions)],
        format: int,
      },
      {
        title: 'server memory, MiB',
        series: [line('RSS (every thread)', (s) => s.rssMiB), line('V8 heap used (main)', (s) => s.heapUsedMiB)],
        format: int,
      },
      {
        title: 'request latency per interval, ms',
        series: [line('p99', (s) => s.p99Ms), line('p50', (s) => s.p50Ms)],
        format: (v) => v.toFixed(v < 10 ? 1 : 0),
      },
      { title: 'requests per second', series: [line('req/s', (s) => s.rps)], format: int },
      {
        title: 'generation wraps per slot of the heap (cumulative)',
        series: [line('wraps / capacity', (s) => s.wraps / sum.capacity)],
        format: (v) => v.toFixed(v < 10 ? 1 : 0),
      },
      {
        title: 'cores busy: the server process, and the machine (1-min load average)',
        series: [line('server CPU', (s) => s.serverCpuPct / 100), line('machine load', (s) => s.load1)],
        format: (v) => v.toFixed(1),
      },
    ],
  });
}
