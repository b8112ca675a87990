/**
 * The demo (`sharedref demo`, `npm start`): the host-string module in Wasm on every
 * worker of a pool, creating and concatenating host strings and passing raw handles to each
 * other through a shared `WebAssembly.Memory` (the workers' side is tasks.ts, the memory's layout board.ts).
 * The main thread collects every 100 ms, shows a progress line, and ends with a summary that
 * checks every value was disposed exactly once. Main thread.
 */
import { availableParallelism } from 'node:os';
import { extname, join } from 'node:path';
import { Heap } from '../src';
import { BOARD_AT, MAX_OBJECTS, MAX_WORKERS, READY_AT, type WorkPlan, type WorkerReport } from './board';

/** Options of `sharedref demo`. */
export interface DemoArgs {
  /** Pool workers. Default: one per core. */
  readonly workers: number;
  /** Seconds to run. Default 10. */
  readonly duration: number;
  /** Slots on the shared board of raw handles (the values kept live between rounds). Default 4096. */
  readonly objects: number;
  /** Print the summary as JSON instead of a table (and no progress line). */
  readonly json: boolean;
}

/** The usage line of `sharedref demo`. */
export const DEMO_USAGE = 'usage: sharedref demo [--workers N] [--duration S] [--objects N] [--json]';

/** Parses `--workers N --duration S --objects N --json`; throws with a message naming the bad flag. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  let workers = Math.max(1, Math.min(MAX_WORKERS, availableParallelism()));
  let duration = 10;
  let objects = 4096;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const num = (min: number, max: number, integer: boolean): number => {
      const text = argv[++i];
      const v = Number(text);
      if (
        text === undefined ||
        text === '' ||
        !Number.isFinite(v) ||
        v < min ||
        v > max ||
        (integer && !Number.isInteger(v))
      ) {
        throw new RangeError(
          `${flag} needs ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, received ` +
            `${text === undefined ? 'nothing' : JSON.stringify(text)}`,
        );
      }
      return v;
    };
    if (flag === '--workers') workers = num(1, MAX_WORKERS, true);
    else if (flag === '--duration') duration = num(0.1, 86_400, false);
    else if (flag === '--objects') objects = num(1, MAX_OBJECTS, true);
    else if (flag === '--json') json = true;
    else throw new TypeError(`unknown option ${JSON.stringify(flag)}\n${DEMO_USAGE}`);
  }
  if (objects < workers)
    throw new RangeError(
      `--objects (${objects}) must be at least --workers (${workers}): every worker owns board slots`,
    );
  return { workers, duration, objects, json };
}

/** The demo's summary (also its `--json` output). */
export interface DemoSummary {
  readonly workers: number;
  readonly seconds: number;
  /** Rounds per second: each round is a `new`, a read of another worker's handle, a `concat` and a publish. */
  readonly roundsPerSecond: number;
  /** Host strings created per second, over all workers. */
  readonly createdPerSecond: number;
  /** Values the heap created (its `created` counter at the end). */
  readonly created: number;
  /** Values disposed before `heap.close()`: by the collector, or recycled unposted by their store. */
  readonly disposedBeforeClose: number;
  /** Values `heap.close()` still had to dispose (0 when every root was released). */
  readonly disposedAtClose: number;
  /** The most live objects seen, sampled every 100 ms after a collection. */
  readonly peakLive: number;
  /** Collections the coordinator ran. */
  readonly collections: number;
  /** Median collection pause, in milliseconds. */
  readonly pauseP50Ms: number;
  /** 99th-percentile collection pause, in milliseconds. */
  readonly pauseP99Ms: number;
  /** What each worker did. */
  readonly perWorker: readonly WorkerReport[];
  /**
   * Every value created was disposed before close (by the collector, or recycled unposted by its store), and none is
   * left: see `runDemo`.
   */
  readonly everyValueDisposedExactlyOnce: boolean;
}

/**
 * Runs the demo and prints its progress and summary to `out`. Resolves with the summary; the
 * exactly-once check holds when the values the workers report creating equal the heap's created
 * counter, all of them were disposed before close (by the collector, or by their own store
 * recycling a value it never posted), none was left for `close()`, and the board is empty. (A
 * second disposal cannot hide in these counts: the collector disposes a slot only in its DYING
 * state, and a store recycles one only from LIVE, each once per generation.)
 */
export async function runDemo(args: DemoArgs, out: NodeJS.WritableStream = process.stdout): Promise<DemoSummary> {
  const heap = await Heap.create();
  const tty = !args.json && (out as { isTTY?: boolean }).isTTY === true;
  const slotsBytes = BOARD_AT + args.objects * 8;
  const memory = new WebAssembly.Memory({
    initial: Math.ceil(slotsBytes / 65536),
    maximum: Math.ceil(slotsBytes / 65536),
    shared: true,
  });
  const board = new Int32Array(memory.buffer);
  const pool = heap.createPool({
    filename: join(__dirname, `tasks${extname(__filename)}`),
    minThreads: args.workers,
    maxThreads: args.workers,
  });
  const pauses: number[] = [];
  let peakLive = 0;
  try {
    const ms = args.duration * 1000;
    const reports = Promise.all(
      Array.from({ length: args.workers }, (_, worker) =>
        pool.run('work', {
          memory,
          worker,
          workers: args.workers,
          slots: args.objects,
          ms,
          seed: 0x9e3779b9 + worker * 7919,
        } satisfies WorkPlan),
      ),
    ) as Promise<WorkerReport[]>;
    // The workers start together once all have compiled and linked the module: the clock starts then.
    let t0 = Number.NaN;
    let done = false;
    void reports.then(
      () => (done = true),
      () => (done = true),
    );
    let lastPrint = 0;
    while (!done) {
      await new Promise((r) => setTimeout(r, 100));
      if (done) break;
      if (Number.isNaN(t0)) {
        if (board[READY_AT >> 2]! < args.workers) continue;
        t0 = performance.now();
      }
      pauses.push((await heap.gc()).pauseMs);
      const s = heap.stats();
      peakLive = Math.max(peakLive, s.live);
      const now = performance.now();
      if (!args.json && now - lastPrint >= (tty ? 250 : 2000)) {
        lastPrint = now;
        let rounds = 0;
        for (let w = 0; w < args.workers; w++) rounds += board[w * 2]!;
        const secs = (now - t0) / 1000;
        const line =
          `${secs.toFixed(1).padStart(5)} s  ${fmtInt(rounds / secs).padStart(9)} rounds/s  live ` +
          `${fmtInt(s.live).padStart(7)}  collections ${fmtInt(s.collections)}`;
        out.write(tty ? `\r${line}   ` : `${line}\n`);
      }
    }
    if (tty) out.write('\n');
    const perWorker = (await reports).sort((a, b) => a.worker - b.worker);
    const seconds = Number.isNaN(t0) ? args.duration : (performance.now() - t0) / 1000;
    let boardEmpty = true;
    for (let i = 0; i < args.objects; i++) if (board[(BOARD_AT >> 2) + i * 2 + 1] !== 0) boardEmpty = false;
    await pool.close();
    pauses.push((await heap.gc()).pauseMs);
    const beforeClose = heap.stats();
    await heap.close();
    const after = heap.stats();
    const rounds = perWorker.reduce((n, w) => n + w.rounds, 0);
    const created = perWorker.reduce((n, w) => n + w.created, 0);
    pauses.sort((a, b) => a - b);
    const q = (p: number): number => pauses[Math.min(pauses.length - 1, Math.floor(p * pauses.length))] ?? 0;
    const summary: DemoSummary = {
      workers: args.workers,
      seconds: round(seconds, 2),
      roundsPerSecond: Math.round(rounds / seconds),
      createdPerSecond: Math.round(created / seconds),
      created: after.created,
      disposedBeforeClose: beforeClose.disposed,
      disposedAtClose: after.disposed - beforeClose.disposed,
      peakLive,
      collections: after.collections,
      pauseP50Ms: round(q(0.5), 3),
      pauseP99Ms: round(q(0.99), 3),
      perWorker,
      everyValueDisposedExactlyOnce:
        boardEmpty &&
        created === after.created &&
        beforeClose.live === 0 &&
        beforeClose.disposed === after.created &&
        after.disposed === after.created,
    };
    out.write(args.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    return summary;
  } finally {
    await heap.close(); // idempotent; closes the pool too if something above failed
  }
}

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

function fmtInt(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

/** The summary as a table for people. */
export function formatSummary(s: DemoSummary): string {
  const rows: [string, string][] = [
    ['workers', String(s.workers)],
    ['run time', `${s.seconds} s`],
    ['rounds/s (new + read + concat + publish)', fmtInt(s.roundsPerSecond)],
    ['host strings created/s', fmtInt(s.createdPerSecond)],
    ['host strings created', fmtInt(s.created)],
    ['disposed before close', fmtInt(s.disposedBeforeClose)],
    ['disposed at close (should be 0)', fmtInt(s.disposedAtClose)],
    ['peak live objects', fmtInt(s.peakLive)],
    ['collections', fmtInt(s.collections)],
    ['collection pause p50 / p99', `${s.pauseP50Ms} ms / ${s.pauseP99Ms} ms`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = [
    '',
    'sharedref demo: the host-string module in Wasm on a worker pool, raw handles through shared memory',
    '',
  ];
  for (const [k, v] of rows) lines.push(`  ${k.padEnd(width)}  ${v}`);
  lines.push('', '  per worker      thread   rounds      strings created   board slots held at the end');
  for (const w of s.perWorker) {
    lines.push(
      `  worker ${String(w.worker).padEnd(8)} ${String(w.threadId).padEnd(8)} ${fmtInt(w.rounds).padEnd(11)} ` +
        `${fmtInt(w.created).padEnd(17)} ${fmtInt(w.held)}`,
    );
  }
  lines.push('', `  every value disposed exactly once: ${s.everyValueDisposedExactlyOnce ? 'yes' : 'NO'}`, '');
  return lines.join('\n');
}
