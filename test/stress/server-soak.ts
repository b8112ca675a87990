/**
 * The server soak: the example HTTP server (examples/server) under a seeded request load for a
 * set time, sampled over time, then drained and judged.
 *
 * The server runs in a child process (test/fixtures/soak-server.js, on the built package: run
 * `npm run build` first; `npm run soak` does), its heap with a narrowed `generationBits` and a
 * small `capacity` so that every slot's generation wraps many times. This process runs a few
 * client loops over HTTP on loopback, each a closed loop (one request at a time) with its own
 * seeded choices: sessions created, appended to through Wasm on the server's pool, read, deleted,
 * and abandoned to expire by the server's TTL, plus a share of requests that must fail (an
 * unknown session, bad JSON). Every answer is checked: a read returns exactly what this client
 * appended, in order. Every interval it prints live objects, sessions, RSS, V8 heap used, handle
 * wraps, requests per second and p50/p99 latency, the server's CPU and the machine's load. When
 * the time is up the clients stop, every session must expire and be collected (live 0), and the
 * server's stop must dispose every value.
 *
 * Latency is measured by the client, from sending a request to reading its whole answer, on the
 * same machine: it includes the client's own work and any other process's.
 *
 * The parts: server-process.ts (the child process and its messages), server-load.ts (the
 * clients), server-report.ts (table, summary, JSON, chart); `npm run soak` runs it from soak.ts.
 *
 * Rejected: an open-loop load at a fixed request rate. On a machine shared with other work, a
 * rate that suits one moment either leaves the server idle or queues requests without end at
 * another; closed loops follow the server's pace, and the rate each interval reached is printed.
 */
import { execFileSync } from 'node:child_process';
import { Agent } from 'node:http';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { repo } from '../build';
import { MiB, percentile, sleep } from './numbers';
import { ClientLoad, HELD_MAX } from './server-load';
import { type ServerMessage, ServerProcess } from './server-process';

/** Options of `runServerSoak`. */
export interface ServerSoakOptions {
  /** How long the load runs, in minutes (decimals allowed). */
  readonly minutes: number;
  /** Seed of the clients' choices. Default: SHAREDREF_SEED or 0x50a4. */
  readonly seed?: number;
  /** Concurrent client loops. Default 4. */
  readonly clients?: number;
  /** The server's session TTL in ms. Default 2000. */
  readonly ttlMs?: number;
  /** The server's pool threads. Default: the server's own (available parallelism − 1, 1 … 8). */
  readonly threads?: number;
  /**
   * The server heap's `capacity`. Default 4096: far above what the load holds live (a few hundred
   * sessions), and small enough that, with `generationBits`, every slot wraps several times in
   * two minutes (the coordinator reuses slots first in, first out).
   */
  readonly capacity?: number;
  /** The server heap's `generationBits`. Default 3 (7 generations: a slot wraps every 7 reuses). */
  readonly generationBits?: number;
  /** Seconds between samples. Default `sampleInterval(minutes)`. */
  readonly intervalS?: number;
  /** Called with each sample as it is taken. */
  readonly onSample?: (s: ServerSample) => void;
  /** Aborting stops the clients and kills the server process (a test's `after`). */
  readonly signal?: AbortSignal;
}

/** One interval. Counts of requests and latencies are the interval's; the rest are at its end. */
export interface ServerSample {
  /** Seconds since the load started. */
  readonly elapsedS: number;
  /** Live objects in the server's heap, right after a collection. */
  readonly live: number;
  /** Sessions the server holds (one live object each). */
  readonly sessions: number;
  /** The server process's resident set (every thread), MiB. */
  readonly rssMiB: number;
  /** The server's main-thread V8 heap used after a full collection, MiB. */
  readonly heapUsedMiB: number;
  /** Generation wraps so far (`heap.stats().wraps`). */
  readonly wraps: number;
  /** Objects created so far. */
  readonly created: number;
  /** Requests answered in the interval. */
  readonly requests: number;
  /** Requests answered per second in the interval. */
  readonly rps: number;
  /** Median latency in the interval, ms. */
  readonly p50Ms: number;
  /** 99th percentile latency in the interval, ms. */
  readonly p99Ms: number;
  /** Request errors so far. */
  readonly errors: number;
  /** The server process's CPU over the interval, % of one core. */
  readonly serverCpuPct: number;
  /** The machine's 1-minute load average. */
  readonly load1: number;
}

/** A pass/fail with the numbers behind it. */
export interface Verdict {
  readonly ok: boolean;
  readonly detail: string;
}

/** What `runServerSoak` returns (and writes as JSON). */
export interface ServerSoakSummary {
  /** The run's settings (see `ServerSoakOptions`), `capacity` as the server's heap reports it. */
  readonly seed: number;
  readonly minutes: number;
  readonly clients: number;
  readonly ttlMs: number;
  readonly threads: number;
  readonly generationBits: number;
  readonly capacity: number;
  readonly intervalS: number;
  /** Where it ran. */
  readonly machine: { readonly cpus: number; readonly model: string; readonly node: string };
  /** The git commit of the working tree (short), or null. */
  readonly commit: string | null;
  /** When the run started (ISO 8601, UTC). */
  readonly startedAt: string;
  readonly samples: readonly ServerSample[];
  /** Requests answered during the load. */
  readonly requests: number;
  /** Requests by kind: create, append, read, delete, stats, bad. */
  readonly byKind: Readonly<Record<string, number>>;
  /** 404s for a held session idle at least a TTL: it expired, as it may. */
  readonly expired: number;
  /** Generation wraps over the run, after the drain. */
  readonly wraps: number;
  /** Objects created and disposed, as the server's stop reported them. */
  readonly created: number;
  readonly disposed: number;
  /** Request errors (the first 20; `verdicts.errors` has the count). */
  readonly errors: readonly string[];
  /** See `judgeFlatness` for the first three; then request errors, and the drain and stop. */
  readonly verdicts: {
    readonly live: Verdict;
    readonly rss: Verdict;
    readonly heapUsed: Verdict;
    readonly errors: Verdict;
    readonly disposed: Verdict;
  };
  /** Every verdict passed. */
  readonly ok: boolean;
}

/** Seconds between samples: about 12 samples for short runs, every 10 s for long ones. */
export function sampleInterval(minutes: number): number {
  return Math.min(10, (minutes * 60) / 12);
}

/**
 * Flatness, from the samples. The first third is warm-up: the server's V8 heaps and JIT reach
 * their working size, and the sessions reach their steady number. The middle third is the
 * reference, the last third is compared with it:
 *
 * - live objects: live is one object per session plus what requests in flight hold and what the
 *   requests served during the sample's own collection left (a client has one request in flight;
 *   an append holds at most 4 objects). The sessions waiting to expire follow the request rate
 *   (each client holds at most HELD_MAX; abandoned ones wait a TTL), and another process on this
 *   shared machine can change that rate twofold. So the verdict takes two bounds: the objects
 *   beyond one per session, whose last-third maximum may exceed the middle third's by 4 per
 *   client at most (a leak of one object in a thousand requests adds hundreds), and live itself,
 *   at most 2 × the middle third's maximum + HELD_MAX per client (sessions piling up). Sessions
 *   that never expire are the drain's verdict: after the load, live must reach 0.
 * - RSS: the last third's median ≤ the middle third's median + max(10%, 32 MiB). Medians, because
 *   single samples move with the allocator's page returns; the slope over the last two thirds is
 *   printed beside it.
 * - V8 heap used (after a full collection): the last third's median ≤ 1.2 × the middle third's + 2 MiB.
 */
export function judgeFlatness(
  samples: readonly ServerSample[],
  clients: number,
): { live: Verdict; rss: Verdict; heapUsed: Verdict } {
  const n = samples.length;
  if (n < 6) {
    const v = { ok: false, detail: `only ${n} samples: at least 6 are needed to judge` };
    return { live: v, rss: v, heapUsed: v };
  }
  const third = Math.floor(n / 3);
  const middle = samples.slice(third, 2 * third);
  const last = samples.slice(n - third);
  const median = (xs: readonly number[]): number => percentile(xs, 50);
  const maxOf = (xs: readonly ServerSample[], f: (s: ServerSample) => number): number => Math.max(...xs.map(f));

  const beyond = (s: ServerSample): number => s.live - s.sessions;
  const midBeyond = maxOf(middle, beyond);
  const endBeyond = maxOf(last, beyond);
  const midLive = maxOf(middle, (s) => s.live);
  const endLive = maxOf(last, (s) => s.live);
  const liveBound = 2 * midLive + HELD_MAX * clients;
  const live: Verdict = {
    ok: endBeyond <= midBeyond + 4 * clients && endLive <= liveBound,
    detail:
      `objects beyond one per session: max ${endBeyond} in the last third ≤ ${midBeyond} (middle third) + ` +
      `${4 * clients}; live: max ${endLive} ≤ 2 × ${midLive} + ${HELD_MAX * clients} = ${liveBound} ` +
      `(median ${median(middle.map((s) => s.live))} → ${median(last.map((s) => s.live))})`,
  };

  const midRss = median(middle.map((s) => s.rssMiB));
  const endRss = median(last.map((s) => s.rssMiB));
  const rssAllowed = Math.max(0.1 * midRss, 32);
  const slope = slopePerHour(samples.slice(third).map((s) => [s.elapsedS, s.rssMiB] as const));
  const rss: Verdict = {
    ok: endRss - midRss <= rssAllowed,
    detail:
      `median RSS of the last third ${endRss.toFixed(1)} MiB vs ${midRss.toFixed(1)} MiB in the middle third: ` +
      `${signed(endRss - midRss)} MiB, allowed +${rssAllowed.toFixed(1)} MiB (slope over the last two thirds ` +
      `${signed(slope)} MiB/h)`,
  };

  const midHeap = median(middle.map((s) => s.heapUsedMiB));
  const endHeap = median(last.map((s) => s.heapUsedMiB));
  const heapBound = 1.2 * midHeap + 2;
  const heapUsed: Verdict = {
    ok: endHeap <= heapBound,
    detail:
      `median V8 heap used of the last third ${endHeap.toFixed(1)} MiB ≤ 1.2 × ${midHeap.toFixed(1)} MiB ` +
      `(middle third) + 2 = ${heapBound.toFixed(1)} MiB`,
  };
  return { live, rss, heapUsed };
}

/** Least-squares slope of `points` (seconds, MiB), in MiB per hour. */
function slopePerHour(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3600;
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
}

/** The short git commit of the working tree, or null outside a repository. */
function commitOf(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/** Runs the server soak; resolves with its summary (never rejects for a failed check: see `ok`). */
export async function runServerSoak(opts: ServerSoakOptions): Promise<ServerSoakSummary> {
  const minutes = opts.minutes;
  if (typeof minutes !== 'number' || !Number.isFinite(minutes) || minutes <= 0)
    throw new RangeError(`minutes must be a positive number, received ${String(minutes)}`);
  const seed = opts.seed ?? Number(process.env.SHAREDREF_SEED ?? 0x50a4);
  const clients = opts.clients ?? 4;
  if (!Number.isInteger(clients) || clients < 1 || clients > 256)
    throw new RangeError(`clients must be an integer between 1 and 256, received ${String(clients)}`);
  const ttlMs = opts.ttlMs ?? 2000;
  const threads = opts.threads ?? Math.max(1, Math.min(8, availableParallelism() - 1));
  const capacityOption = opts.capacity ?? 4096;
  const generationBits = opts.generationBits ?? 3;
  const intervalS = opts.intervalS ?? sampleInterval(minutes);
  const startedAt = new Date().toISOString();

  const server = new ServerProcess({ ttlMs, threads, heapOptions: { capacity: capacityOption, generationBits } });
  const abort = (): void => server.kill();
  opts.signal?.addEventListener('abort', abort, { once: true });
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  // Set when the run ends early (the server process died, a sample failed): the clients stop.
  let halted = false;
  try {
    const hello = await server.ask('listening');
    const port = hello.port as number;
    const capacity = hello.capacity as number;

    const sampleNow = async (): Promise<{ reply: ServerMessage; at: number }> => {
      const reply = await server.ask('sample', { t: 'sample' });
      return { reply, at: performance.now() };
    };
    let lastCpuUs = (await sampleNow()).reply.cpuUs as number; // the server's CPU before the load
    const start = performance.now();
    let lastAt = start;
    const deadline = start + minutes * 60_000;
    const load = new ClientLoad({
      port,
      agent,
      seed,
      ttlMs,
      stopped: () => halted || performance.now() >= deadline || opts.signal?.aborted === true,
    });

    const samples: ServerSample[] = [];
    // Resolves at the deadline; rejects (and so ends the run) if the server process fails.
    const sampler = (async () => {
      for (let k = 1; ; k++) {
        const due = start + k * intervalS * 1000;
        if (due > deadline + 1 || opts.signal?.aborted === true) return;
        await sleep(Math.max(0, due - performance.now()));
        const { reply, at } = await sampleNow();
        const window = load.takeLatencies(); // the requests answered since the last sample
        const stats = reply.stats as Record<string, number>;
        const cpuUs = reply.cpuUs as number;
        const s: ServerSample = {
          elapsedS: (at - start) / 1000,
          live: stats.live!,
          sessions: reply.sessions as number,
          rssMiB: (reply.rss as number) / MiB,
          heapUsedMiB: (reply.heapUsed as number) / MiB,
          wraps: stats.wraps!,
          created: stats.created!,
          requests: window.length,
          rps: window.length / ((at - lastAt) / 1000),
          p50Ms: percentile(window, 50),
          p99Ms: percentile(window, 99),
          errors: load.errorCount,
          serverCpuPct: ((cpuUs - lastCpuUs) / ((at - lastAt) * 1000)) * 100,
          load1: loadavg()[0]!,
        };
        lastCpuUs = cpuUs;
        lastAt = at;
        samples.push(s);
        opts.onSample?.(s);
      }
    })();

    await Promise.all([...Array.from({ length: clients }, (_, c) => load.run(c)), sampler]);

    // Drain: no client holds anything now, so every session expires within a TTL and a sweep
    // (the server sweeps every min(1 s, TTL / 2)), and its collection leaves nothing live.
    const drainMs = 2 * ttlMs + 2000 + 10_000;
    const drainEnd = performance.now() + drainMs;
    let last = (await sampleNow()).reply;
    while (((last.stats as Record<string, number>).live !== 0 || last.sessions !== 0) && performance.now() < drainEnd) {
      await sleep(250);
      last = (await sampleNow()).reply;
    }
    const drained = last.stats as Record<string, number>;
    const closed = await server.ask('closed', { t: 'stop' });
    await server.exit(10_000);

    const created = closed.created as number;
    const disposed = closed.disposed as number;
    const emptied = drained.live === 0 && last.sessions === 0;
    const disposedVerdict: Verdict = {
      ok: emptied && created === disposed,
      detail:
        (emptied
          ? 'every session expired and was collected once the clients stopped (live 0)'
          : `${drained.live} objects and ${String(last.sessions)} sessions still live ${drainMs} ms after ` +
            'the clients stopped') + `; at stop ${created} created, ${disposed} disposed`,
    };
    const { requests, errorCount } = load;
    const errorsVerdict: Verdict = {
      ok: errorCount === 0,
      detail:
        errorCount === 0 ? `no request failed (${requests} requests)` : `${errorCount} of ${requests} requests failed`,
    };
    const flat = judgeFlatness(samples, clients);
    return {
      seed,
      minutes,
      clients,
      ttlMs,
      threads,
      generationBits,
      capacity,
      intervalS,
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
      commit: commitOf(),
      startedAt,
      samples,
      requests,
      byKind: { ...load.byKind },
      expired: load.expired,
      wraps: drained.wraps!,
      created,
      disposed,
      errors: [...load.errors],
      verdicts: { ...flat, errors: errorsVerdict, disposed: disposedVerdict },
      ok: flat.live.ok && flat.rss.ok && flat.heapUsed.ok && errorsVerdict.ok && disposedVerdict.ok,
    };
  } finally {
    halted = true;
    opts.signal?.removeEventListener('abort', abort);
    agent.destroy();
    server.kill();
  }
}
