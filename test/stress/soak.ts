/**
 * The soak: a mixed workload across a pool for a set time, with periodic worker kills and
 * collections, sampling live objects, RSS and collection pauses; then exact accounting.
 *
 * `npm run soak -- --minutes N [--seed S] [--workers N] [--clients N] [--part all|pool|server]`
 * runs two parts, one after the other, each for N minutes: this pool workload, then the example
 * HTTP server under load (test/stress/server-soak.ts; `--part` picks one). Each prints a header,
 * one line per sample and a summary, and writes its figures as JSON under bench/results/ (the
 * server part a chart too); the command exits non-zero unless every part passed: here, live
 * objects and RSS stayed flat, the accounting was exact and no operation failed unexpectedly.
 * `runSoak(opts)` runs this part and returns the summary (test/stress/soak.test.ts runs 30
 * seconds of it).
 *
 * The main thread (the heap's creating thread) drives lanes of operations; pool workers run
 * test/fixtures/soak-tasks.ts. The workload's live set is bounded by design — the main thread
 * holds at most HELD manual roots (replacing old ones), each worker keeps at most KEPT_MAX, a task
 * holds a few dozen at most — so live objects can only grow through a leak.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExternRef, Heap, type ManuallyRooted, Module, type Pool, type Rooted } from '../../src';
import { seeded } from '../fixtures/prng';
import { newFlag, reached } from '../fixtures/signals';
import { SEED_WAT } from '../fixtures/wat';
import { buildPackage } from '../build';
import { formatServerSample, formatServerSummary, serverHeader, writeServerResults } from './server-report';
import { MiB, median, percentile, sleep } from './numbers';
import { runServerSoak, sampleInterval as serverSampleInterval } from './server-soak';

const soakTasksFile = join(__dirname, '..', 'fixtures', 'soak-tasks.ts');
const countingHostModule = join(__dirname, '..', 'fixtures', 'counting-host-module.ts');

/** Manual roots the main thread holds at once. */
const HELD = 48;
/** Manual roots each worker keeps across tasks (soak-tasks.ts, through `workerData`). */
const KEPT_MAX = 32;
/**
 * A worker collects its V8 heap after this many seed (native-ABI) calls: until then each call's
 * result wrapper holds a count (soak-tasks.ts). Needs `--expose-gc`.
 */
const COLLECT_EVERY = 64;
/** Values one `make` task creates (at most 4 returned, plus one `Tracked`). */
const MAKE_N = 16;
/** Steps of a victim task. */
const VICTIM_STEPS = 400;
/** A worker is killed this often (every other kill by abort, the others by `process.exit`). */
const KILL_EVERY_MS = 3000;
/** A collection runs this often besides the one at each sample. */
const GC_EVERY_MS = 250;

/** Options of `runSoak`. */
export interface SoakOptions {
  /** How long the workload runs, in minutes (decimals allowed). */
  readonly minutes: number;
  /** Seed of the workload's choices. Default: SHAREDREF_SEED or 0x50a4. */
  readonly seed?: number;
  /** Pool workers. Default 2. */
  readonly workers?: number;
  /** Called with each sample as it is taken. */
  readonly onSample?: (s: SoakSample) => void;
}

/** One sample. `live` is taken right after a collection; pauses are those since the last sample. */
export interface SoakSample {
  readonly elapsedS: number;
  readonly live: number;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly pauseP50Ms: number;
  readonly pauseP99Ms: number;
  readonly collections: number;
  readonly kills: number;
  readonly ops: number;
}

/** A pass/fail with the numbers behind it. */
export interface Verdict {
  readonly ok: boolean;
  readonly detail: string;
}

/** What `runSoak` returns. */
export interface SoakSummary {
  readonly seed: number;
  readonly minutes: number;
  readonly workers: number;
  readonly intervalS: number;
  readonly samples: readonly SoakSample[];
  readonly ops: number;
  readonly kills: number;
  readonly collections: number;
  /** Unexpected failures (at most 20 kept). */
  readonly errors: readonly string[];
  readonly verdicts: {
    readonly live: Verdict;
    readonly rss: Verdict;
    readonly accounting: Verdict;
    readonly errors: Verdict;
  };
  readonly ok: boolean;
}

/** Seconds between samples: about 12 samples for short runs, every 5 s for long ones. */
export function sampleInterval(minutes: number): number {
  return Math.min(5, (minutes * 60) / 12);
}

/**
 * Flatness, from the samples. The first quarter is warm-up (workers start, rings fill, caches
 * and V8 heaps grow to their working size) and is ignored. The reference window is the second
 * quarter; the end is the last third (live) or the last quarter (RSS).
 *
 * - Live objects: the end's maximum may exceed the reference maximum by 20% plus a fixed slack of
 *   what the design lets fluctuate: up to 24 values in flight per lane (a `make` task's 16, its 4
 *   returned roots, a Tracked, a Wasm result), and per worker its ring of KEPT_MAX (a kill empties
 *   it, the replacement refills it) and up to COLLECT_EVERY native-ABI results waiting for V8.
 *   A leak of one value per operation adds thousands over the run (hundreds of operations a
 *   second), far beyond this bound; smaller leaks are the final accounting's job, which is exact.
 * - RSS: the end's median may exceed the reference median by 20% or 64 MiB, whichever is more.
 *   RSS covers every thread of the process. A worker thread costs about 100 MiB under ts-node
 *   (measured: 232 MiB with the heap alone, 333 MiB with one worker); each kill frees one and
 *   starts another, and the allocator may keep freed pages, so about one worker's worth is
 *   tolerated (20% of the ~520 MiB a two-worker soak runs at). A thread leaked per kill (one
 *   every 3 s) would exceed it within a few kills. Measured on 2 cores: the medians of 30 s and
 *   2 min runs moved by −8 to +7 MiB, single samples by up to ±45 MiB, hence medians.
 */
export function judgeFlatness(
  samples: readonly SoakSample[],
  lanes: number,
  workers: number,
): { live: Verdict; rss: Verdict } {
  const n = samples.length;
  if (n < 4) {
    const v = { ok: false, detail: `only ${n} samples: at least 4 are needed to judge` };
    return { live: v, rss: v };
  }
  const warm = Math.ceil(n / 4);
  const ref = samples.slice(warm, warm + Math.max(1, Math.floor(n / 4)));
  const lastThird = samples.slice(n - Math.max(1, Math.ceil(n / 3)));
  const lastQuarter = samples.slice(n - Math.max(1, Math.ceil(n / 4)));

  const refLive = Math.max(...ref.map((s) => s.live));
  const endLive = Math.max(...lastThird.map((s) => s.live));
  const slack = lanes * 24 + workers * (KEPT_MAX + COLLECT_EVERY);
  const liveBound = Math.floor(refLive * 1.2) + slack;
  const live: Verdict = {
    ok: endLive <= liveBound,
    detail:
      `max live of the last third ${endLive} ≤ 1.2 × ${refLive} (max of the reference window) + ` +
      `${slack} = ${liveBound}`,
  };

  const refRss = median(ref.map((s) => s.rssMiB));
  const endRss = median(lastQuarter.map((s) => s.rssMiB));
  const rssAllowed = Math.max(0.2 * refRss, 64);
  const rss: Verdict = {
    ok: endRss - refRss <= rssAllowed,
    detail:
      `median RSS of the last quarter ${endRss.toFixed(1)} MiB vs ${refRss.toFixed(1)} MiB in the ` +
      `reference window: ${signed(endRss - refRss)} MiB, allowed +${rssAllowed.toFixed(1)} MiB`,
  };
  return { live, rss };
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
}

/** Runs the soak; resolves with its summary (never rejects for a failed check: see `ok`). */
export async function runSoak(opts: SoakOptions): Promise<SoakSummary> {
  const minutes = opts.minutes;
  if (typeof minutes !== 'number' || !Number.isFinite(minutes) || minutes <= 0)
    throw new RangeError(`minutes must be a positive number, received ${String(minutes)}`);
  const seed = opts.seed ?? Number(process.env.SHAREDREF_SEED ?? 0x50a4);
  const workers = opts.workers ?? 2;
  if (!Number.isInteger(workers) || workers < 1)
    throw new RangeError(`workers must be a positive integer, received ${String(workers)}`);
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function')
    throw new Error('runSoak needs node --expose-gc (workers collect their V8 heaps on a schedule)');
  const lanes = workers * 2;
  const intervalS = sampleInterval(minutes);
  const rand = seeded(seed);

  const heap = await Heap.create({ hostModule: countingHostModule });
  const pool = heap.createPool({
    filename: soakTasksFile,
    minThreads: workers,
    maxThreads: workers,
    workerData: { keptMax: KEPT_MAX, collectEvery: COLLECT_EVERY },
  });
  const store = heap.store;
  try {
    const logOf = (factory: string): Promise<ManuallyRooted> =>
      store.scope(async () => (await ExternRef.newWith(store, factory)).toManuallyRooted());
    const disposals = await logOf('disposalLog');
    const creations = await logOf('creationLog');
    const counter = ExternRef.newManuallyRooted(store, { n: 0, sum: 0 });
    const hello = ExternRef.newManuallyRooted(store, 'Hello, ');
    const world = ExternRef.newManuallyRooted(store, 'World!');
    const seedWasm = Module.fromText(SEED_WAT).wasm;
    const held: ManuallyRooted[] = [];
    let nextTrackedId = 0;
    const hold = (m: ManuallyRooted): void => {
      if (held.length < HELD) held.push(m);
      else {
        const i = Math.floor(rand() * HELD);
        held[i]!.unroot();
        held[i] = m;
      }
    };
    for (let i = 0; i < HELD / 2; i++) hold(ExternRef.newManuallyRooted(store, { seeded: i }));

    let ops = 0;
    let kills = 0;
    const errors: string[] = [];
    let errorCount = 0;
    const fail = (what: string, err: unknown): void => {
      errorCount++;
      if (errors.length < 20)
        errors.push(`${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    };
    const check = (ok: boolean, what: string): void => {
      if (!ok) throw new Error(`check failed: ${what}`);
    };
    const picks = (n: number): Rooted[] =>
      Array.from({ length: n }, () => held[Math.floor(rand() * held.length)]!.toRooted());

    const start = performance.now();
    const deadline = start + minutes * 60_000;
    let stopped = false;
    let killDue = false;
    const killTimer = setInterval(() => (killDue = true), KILL_EVERY_MS);

    const kill = async (byExit: boolean): Promise<void> => {
      const flag = newFlag();
      const ac = new AbortController();
      const exitAt = byExit ? Math.floor(rand() * VICTIM_STEPS) : -1;
      const signalAt = byExit ? -1 : Math.floor(rand() * VICTIM_STEPS);
      const task = pool.runTask({
        task: 'victim',
        args: [picks(1 + Math.floor(rand() * 4)), counter.toRooted(), VICTIM_STEPS, signalAt, exitAt, flag],
        signal: ac.signal,
      });
      if (!byExit && (await reached(flag, 0, task))) ac.abort();
      try {
        check((await task) === VICTIM_STEPS, 'a victim that outran its abort finished all its steps');
        check(!byExit, 'a victim exits');
      } catch (err) {
        const e = err as Error;
        if (byExit ? e.message === 'worker exited with code: 21' : e.name === 'AbortError') kills++;
        else throw err;
      }
    };

    const op = (): Promise<void> =>
      store.scope(async () => {
        if (killDue) {
          killDue = false;
          await kill(kills % 2 === 1);
          return;
        }
        const k = rand();
        if (k < 0.22) {
          const id = rand() < 0.3 ? nextTrackedId++ : -1;
          const out = (await pool.run('make', MAKE_N, id, Math.floor(rand() * 2 ** 31))) as Rooted[];
          check(out.length <= 5, 'make returns at most 5 roots');
          for (const r of out) if (rand() < 0.5) hold(r.toManuallyRooted());
        } else if (k < 0.4) {
          const sent = picks(1 + Math.floor(rand() * 4));
          const back = (await pool.run('echo', sent)) as Rooted[];
          check(
            back.length === sent.length && back.every((r, i) => ExternRef.ptrEq(r, sent[i]!)),
            'echo returns the same objects',
          );
        } else if (k < 0.54) {
          const count = (await pool.run('cloneDrop', picks(1)[0], 16, rand() < 0.3)) as number;
          check(count >= 2, 'the caller and the task both hold the object');
        } else if (k < 0.66) {
          if (rand() < 0.5)
            check(((await pool.run('bump', counter.toRooted(), 8)) as number) === 8, 'bump steps 8 times');
          else await counter.dataMut((v: { n: number; sum: number }) => ({ n: v.n + 1, sum: v.sum + v.n + 1 }));
        } else if (k < 0.8) {
          const out = (await pool.run('seedWasm', seedWasm, hello.toRooted(), world.toRooted())) as Rooted;
          check(out.dataSync() === 'Hello, World!', 'the seed module concatenates');
          if (rand() < 0.2) hold(out.toManuallyRooted());
        } else if (k < 0.9) {
          if (rand() < 0.5)
            hold(
              await store.scope(async () =>
                (await ExternRef.newWith(store, 'countedTracked', nextTrackedId++)).toManuallyRooted(),
              ),
            );
          else hold(ExternRef.newManuallyRooted(store, { main: ops }));
        } else {
          // Clone and drop through raw handles on the main thread: fromRaw, intoRaw, fromOwnedRaw.
          const m = held[Math.floor(rand() * held.length)]!;
          const c = ExternRef.fromRawManuallyRooted(store, m.toRaw())!;
          const back = ExternRef.fromOwnedRaw(store, c.intoRaw())!;
          check(
            ExternRef.ptrEq(back, m) && back.strongCount() >= 2,
            'intoRaw and fromOwnedRaw give back the same object, still counted',
          );
          back.unroot();
          ExternRef.fromRaw(store, m.toRaw());
        }
        ops++;
      });

    const lane = async (): Promise<void> => {
      while (performance.now() < deadline) {
        try {
          await op();
        } catch (err) {
          fail('op', err);
        }
      }
    };

    const pauses: number[] = [];
    const collector = (async () => {
      while (!stopped) {
        try {
          pauses.push((await heap.gc()).pauseMs);
        } catch (err) {
          fail('gc', err);
        }
        await sleep(GC_EVERY_MS);
      }
    })();

    const samples: SoakSample[] = [];
    const sampler = (async () => {
      for (let k = 1; ; k++) {
        const due = start + k * intervalS * 1000;
        if (due > deadline + 1) return;
        await sleep(Math.max(0, due - performance.now()));
        const report = await heap.gc();
        pauses.push(report.pauseMs);
        (globalThis as { gc?: () => void }).gc?.();
        const mem = process.memoryUsage();
        const window = pauses.splice(0);
        const s: SoakSample = {
          elapsedS: (performance.now() - start) / 1000,
          live: report.live,
          rssMiB: mem.rss / MiB,
          heapUsedMiB: mem.heapUsed / MiB,
          pauseP50Ms: percentile(window, 50),
          pauseP99Ms: percentile(window, 99),
          collections: heap.stats().collections,
          kills,
          ops,
        };
        samples.push(s);
        opts.onSample?.(s);
      }
    })();

    await Promise.all(Array.from({ length: lanes }, lane));
    clearInterval(killTimer);
    await sampler;
    stopped = true;
    await collector;

    const { live, rss } = judgeFlatness(samples, lanes, workers);
    const accounting = await account(heap, pool, { held, counter, hello, world, disposals, creations }).then(
      (detail): Verdict => ({ ok: true, detail }),
      (err: unknown): Verdict => ({ ok: false, detail: err instanceof Error ? err.message : String(err) }),
    );
    const errorsVerdict: Verdict = {
      ok: errorCount === 0,
      detail: errorCount === 0 ? 'no operation failed unexpectedly' : `${errorCount} operations failed unexpectedly`,
    };
    return {
      seed,
      minutes,
      workers,
      intervalS,
      samples,
      ops,
      kills,
      collections: heap.stats().collections,
      errors,
      verdicts: { live, rss, accounting, errors: errorsVerdict },
      ok: live.ok && rss.ok && accounting.ok && errorsVerdict.ok,
    };
  } finally {
    await heap.close();
  }
}

interface Holdings {
  readonly held: ManuallyRooted[];
  readonly counter: ManuallyRooted;
  readonly hello: ManuallyRooted;
  readonly world: ManuallyRooted;
  readonly disposals: ManuallyRooted;
  readonly creations: ManuallyRooted;
}

/**
 * Drains the pool and checks that the accounting is exact; resolves with a description, rejects
 * with the first discrepancy. After the pool closes only the main thread holds counts: each held
 * object's count is its number of main-thread roots, and live objects are exactly those held.
 * After unrooting, every `Tracked` built is disposed exactly once and the heap is empty (I3, I4).
 */
async function account(heap: Heap, pool: Pool, h: Holdings): Promise<string> {
  const fail = (what: string): never => {
    throw new Error(what);
  };
  await pool.close();
  for (let tries = 0; heap.stats().stores !== 1; tries++) {
    if (tries > 3000) fail(`${heap.stats().stores - 1} worker stores still attached 15 s after the pool closed`);
    await sleep(5);
  }
  const roots = [...h.held, h.counter, h.hello, h.world];
  const mine = new Map<number, number>();
  for (const m of roots) mine.set(m.toRaw(), (mine.get(m.toRaw()) ?? 0) + 1);
  for (const m of roots) {
    const expected = mine.get(m.toRaw())!;
    if (m.strongCount() !== expected)
      fail(`object 0x${m.toRaw().toString(16)} has count ${m.strongCount()}, the main thread holds ${expected}`);
  }
  const v = h.counter.dataSync() as { n: number; sum: number };
  if (v.sum !== (v.n * (v.n + 1)) / 2) fail(`counter torn or an update lost: n ${v.n}, sum ${v.sum}`);
  const held = (await heap.gc()).live;
  if (held !== mine.size + 2)
    fail(`${held} objects live after the pool drained; the main thread holds ${mine.size} and the two logs`);

  for (const m of roots) m.unroot();
  await heap.gc();
  const made = ((await h.creations.call('entries')) as number[]).sort((a, b) => a - b);
  const disposed = ((await h.disposals.call('entries')) as number[]).sort((a, b) => a - b);
  h.creations.unroot();
  h.disposals.unroot();
  await heap.gc();
  const s = heap.stats();
  if (s.live !== 0 || s.pendingRelease !== 0)
    fail(`after unrooting everything: live ${s.live}, pending release ${s.pendingRelease}`);
  if (s.created !== s.disposed) fail(`created ${s.created} but disposed ${s.disposed}`);
  if (heap.store.rootCount !== 0) fail(`the main store still records ${heap.store.rootCount} counts`);
  if (new Set(disposed).size !== disposed.length) fail('a Tracked value was disposed twice');
  const never = made.filter((id) => !disposed.includes(id));
  if (never.length > 0) fail(`Tracked values built but never disposed: ${never.join(', ')}`);
  if (disposed.length !== made.length) fail(`${disposed.length} Tracked disposals for ${made.length} built`);
  return (
    `${s.created} objects created and disposed, ${made.length} Tracked each disposed exactly once, ` +
    `counter at ${v.n} steps with no lost update`
  );
}

const COLUMNS = [
  'elapsed_s',
  'live',
  'rss_MiB',
  'heapUsed_MiB',
  'pause_p50_ms',
  'pause_p99_ms',
  'collections',
  'kills',
  'ops',
] as const;
const WIDTH = 13;

/** The header line of the printed table. */
export function header(): string {
  return COLUMNS.map((c) => c.padStart(WIDTH)).join('');
}

/** One printed line per sample. */
export function formatSample(s: SoakSample): string {
  const cells = [
    s.elapsedS.toFixed(1),
    String(s.live),
    s.rssMiB.toFixed(1),
    s.heapUsedMiB.toFixed(1),
    s.pauseP50Ms.toFixed(3),
    s.pauseP99Ms.toFixed(3),
    String(s.collections),
    String(s.kills),
    String(s.ops),
  ];
  return cells.map((c) => c.padStart(WIDTH)).join('');
}

/** The printed summary. */
export function formatSummary(sum: SoakSummary): string {
  const v = sum.verdicts;
  const line = (name: string, x: Verdict): string => `  ${name.padEnd(11)} ${x.ok ? 'ok  ' : 'FAIL'}  ${x.detail}`;
  return [
    `summary: ${sum.ops} operations, ${sum.kills} workers killed, ${sum.collections} collections, ` +
      `${sum.samples.length} samples`,
    line('live flat', v.live),
    line('rss flat', v.rss),
    line('accounting', v.accounting),
    line('errors', v.errors),
    ...sum.errors.map((e) => `    ${e}`),
    sum.ok ? 'PASS' : 'FAIL',
  ].join('\n');
}

/** Which parts `npm run soak` runs: the pool workload, the example server under load, or both. */
export type SoakPart = 'all' | 'pool' | 'server';

/** The command line of `npm run soak`. */
export interface SoakArgs {
  readonly minutes: number;
  readonly seed: number | undefined;
  readonly workers: number | undefined;
  readonly clients: number | undefined;
  readonly part: SoakPart;
}

const USAGE = '--minutes N, --seed S, --workers N, --clients N, --part all|pool|server';

/** Parses `--minutes N`, `--seed S`, `--workers N`, `--clients N`, `--part P` (also `--name=value`). */
export function parseArgs(argv: readonly string[]): SoakArgs {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--(minutes|seed|workers|clients|part)(?:=(.*))?$/.exec(arg);
    if (m === null) throw new TypeError(`unknown argument ${JSON.stringify(arg)} (known: ${USAGE})`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new TypeError(`--${m[1]!} needs a value`);
    values.set(m[1]!, value);
  }
  const num = (name: string): number | undefined => {
    const s = values.get(name);
    if (s === undefined) return undefined;
    const x = Number(s);
    if (s.trim() === '' || !Number.isFinite(x))
      throw new TypeError(`--${name} must be a number, received ${JSON.stringify(s)}`);
    return x;
  };
  const part = values.get('part') ?? 'all';
  if (part !== 'all' && part !== 'pool' && part !== 'server')
    throw new TypeError(`--part must be all, pool or server, received ${JSON.stringify(part)}`);
  return { minutes: num('minutes') ?? 1, seed: num('seed'), workers: num('workers'), clients: num('clients'), part };
}

/** The pool part: prints its table and summary, writes bench/results/soak-pool.json; true if it passed. */
async function poolPart(args: SoakArgs, seed: number): Promise<boolean> {
  const workers = args.workers ?? 2;
  console.log(
    `sharedref soak, pool: ${args.minutes} min, seed ${seed}, ${workers} workers, a sample every ` +
      `${sampleInterval(args.minutes).toFixed(1)} s, a worker killed every ${KILL_EVERY_MS / 1000} s`,
  );
  console.log(header());
  const summary = await runSoak({
    minutes: args.minutes,
    seed,
    workers,
    onSample: (s) => console.log(formatSample(s)),
  });
  console.log(formatSummary(summary));
  const dir = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'soak-pool.json'), JSON.stringify(summary, null, 2) + '\n');
  console.log(`wrote ${join('bench', 'results', 'soak-pool.json')}`);
  return summary.ok;
}

/** The server part: builds the package, prints its table and summary, writes its JSON and chart. */
async function serverPart(args: SoakArgs, seed: number): Promise<boolean> {
  console.log('sharedref soak, server: building the package (the example server runs on dist/) ...');
  await buildPackage();
  const interval = serverSampleInterval(args.minutes);
  const clients = args.clients ?? 4;
  console.log(
    `sharedref soak, server: ${args.minutes} min, seed ${seed}, ${clients} clients, a line every ` +
      `${interval.toFixed(1)} s (the server's heap collected first; latency measured by the clients)`,
  );
  console.log(serverHeader());
  const summary = await runServerSoak({
    minutes: args.minutes,
    seed,
    clients,
    onSample: (s) => console.log(formatServerSample(s)),
  });
  console.log(formatServerSummary(summary));
  const { json, svg } = writeServerResults(summary);
  console.log(`wrote ${json} and ${svg}`);
  return summary.ok;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const seed = args.seed ?? Number(process.env.SHAREDREF_SEED ?? 0x50a4);
  let ok = true;
  if (args.part !== 'server') ok = (await poolPart(args, seed)) && ok;
  if (args.part !== 'pool') ok = (await serverPart(args, seed)) && ok;
  return ok ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 2;
    },
  );
}
