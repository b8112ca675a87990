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
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { lineChart } from '../../bench/lib/chart';
import { childEnv } from '../build';
import { seeded } from '../fixtures/prng';

const repo = join(__dirname, '..', '..');
const serverFile = join(repo, 'test', 'fixtures', 'soak-server.js');

/** Sessions a client loop uses at once; creating one more abandons its oldest (it expires). */
const HELD_MAX = 16;
/** A session whose content reaches this length is abandoned (it expires): contents stay small. */
const CONTENT_MAX = 2048;
/** Longest wait for an answer from the server process (a sample, its stop). */
const SERVER_REPLY_MS = 60_000;
/** Request errors kept for the report (all are counted). */
const ERRORS_KEPT = 20;

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
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
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
  readonly seed: number;
  readonly minutes: number;
  readonly clients: number;
  readonly ttlMs: number;
  readonly threads: number;
  readonly generationBits: number;
  readonly capacity: number;
  readonly intervalS: number;
  readonly machine: { readonly cpus: number; readonly model: string; readonly node: string };
  readonly commit: string | null;
  readonly startedAt: string;
  readonly samples: readonly ServerSample[];
  readonly requests: number;
  /** Requests by kind: create, append, read, delete, stats, bad. */
  readonly byKind: Readonly<Record<string, number>>;
  /** 404s for a held session idle at least a TTL: it expired, as it may. */
  readonly expired: number;
  readonly wraps: number;
  readonly created: number;
  readonly disposed: number;
  /** Request errors (at most ERRORS_KEPT kept; `verdicts.errors` has the count). */
  readonly errors: readonly string[];
  readonly verdicts: {
    readonly live: Verdict;
    readonly rss: Verdict;
    readonly heapUsed: Verdict;
    readonly errors: Verdict;
    readonly disposed: Verdict;
  };
  readonly ok: boolean;
}

const MiB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile; 0 for no data. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
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

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** One HTTP request on loopback; resolves with its status and JSON body (`{}` when empty). */
function send(agent: Agent, port: number, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body, 'utf8');
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, agent, headers: data ? { 'Content-Length': data.length } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
            });
          } catch {
            reject(
              new Error(`${method} ${path}: ${res.statusCode} with a body that is not JSON: ${text.slice(0, 80)}`),
            );
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** Text to append: 4–32 characters, some outside ASCII (UTF-8 of 2 and 3 bytes, a surrogate pair). */
function textOf(rand: () => number): string {
  const alphabet = ['a', 'b', 'c', 'x', 'y', 'z', ' ', ',', '!', 'é', '¡', 'м', 'и', 'р', '€', '😀'];
  let s = '';
  const n = 4 + Math.floor(rand() * 29);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)]!;
  return s;
}

/** A session a client holds: its id, the content it expects, when it last sent a request on it. */
interface Held {
  readonly id: string;
  content: string;
  lastSentAt: number;
}

/** The soak's side of the server process: its messages, one awaited reply at a time. */
class ServerProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<unknown>;
  #waiting: ((msg: Record<string, unknown>) => void) | null = null;
  #fail: ((err: Error) => void) | null = null;
  #output = '';

  constructor(options: Record<string, unknown>) {
    this.#child = fork(serverFile, [], {
      cwd: repo,
      env: { ...childEnv(), SOAK_SERVER_OPTIONS: JSON.stringify(options) },
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.#exited = once(this.#child, 'exit');
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString()).slice(-8192);
    };
    this.#child.stdout!.on('data', keep);
    this.#child.stderr!.on('data', keep);
    this.#child.on('message', (msg: Record<string, unknown>) => {
      const resolve = this.#waiting;
      if (msg.t === 'error') this.#fail?.(new Error(`the server process failed: ${String(msg.message)}`));
      else if (resolve !== null) resolve(msg);
    });
    this.#child.once('exit', (code, signal) =>
      this.#fail?.(new Error(`the server process exited (code ${code}, signal ${signal}):\n${this.#output}`)),
    );
  }

  /** What the server process printed last (its log: at most 8 KiB). */
  get output(): string {
    return this.#output;
  }

  /** Sends `msg` (if any) and waits for the next reply of type `t`, at most SERVER_REPLY_MS. */
  ask(t: string, msg?: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`the server process did not answer ${t} within ${SERVER_REPLY_MS} ms`)),
        SERVER_REPLY_MS,
      );
      const done = (err: Error | null, reply?: Record<string, unknown>): void => {
        clearTimeout(timer);
        this.#waiting = null;
        this.#fail = null;
        if (err === null) resolve(reply!);
        else reject(err);
      };
      this.#waiting = (reply) => {
        if (reply.t === t) done(null, reply);
      };
      this.#fail = (err) => done(err);
      if (msg !== undefined) this.#child.send(msg);
    });
  }

  /** Waits for the process to exit (SIGKILL after `ms`). */
  async exit(ms: number): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), ms);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Kills the process now, if it still runs. */
  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
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

    const errors: string[] = [];
    let errorCount = 0;
    const fail = (what: string): void => {
      errorCount++;
      if (errors.length < ERRORS_KEPT) errors.push(what);
    };
    let latencies: number[] = [];
    let requests = 0;
    let expired = 0;
    const byKind: Record<string, number> = { create: 0, append: 0, read: 0, delete: 0, stats: 0, bad: 0 };

    const start = performance.now();
    const deadline = start + minutes * 60_000;
    const stopped = (): boolean => halted || performance.now() >= deadline || opts.signal?.aborted === true;

    /** Sends one request, timing it; an error of the connection counts as a request error. */
    const timed = async (kind: string, method: string, path: string, body?: string): Promise<Answer | null> => {
      const t0 = performance.now();
      try {
        const answer = await send(agent, port, method, path, body);
        latencies.push(performance.now() - t0);
        requests++;
        byKind[kind]!++;
        return answer;
      } catch (err) {
        fail(`${method} ${path}: ${err instanceof Error ? err.message : String(err)}`);
        return null;
      }
    };
    const expect = (ok: boolean, what: string, answer: Answer): void => {
      if (!ok) fail(`${what}: got ${answer.status} ${JSON.stringify(answer.body).slice(0, 160)}`);
    };

    const client = async (c: number): Promise<void> => {
      const rand = seeded((seed + c * 0x9e3779b9) >>> 0);
      const held: Held[] = [];
      let made = 0;
      /**
       * A 404 for a session this client holds is fine only if it may have expired: the server
       * last touched it after this client's previous request on it was sent (`prev`), so it can
       * have expired only if a TTL has passed since then.
       */
      const lost = (s: Held, prev: number, what: string, a: Answer): void => {
        const i = held.indexOf(s);
        if (i >= 0) held.splice(i, 1);
        const idle = performance.now() - prev;
        if (idle >= ttlMs) expired++;
        else expect(false, `${what}, idle ${idle.toFixed(0)} ms (TTL ${ttlMs} ms)`, a);
      };
      while (!stopped()) {
        const k = rand();
        if (held.length === 0 || k < 0.1) {
          const content = textOf(rand);
          const own = rand() < 0.3 ? `c${c}-s${seed}-${made++}` : null;
          const sentAt = performance.now();
          const body = JSON.stringify({ content });
          const a =
            own === null
              ? await timed('create', 'POST', '/sessions', body)
              : await timed('create', 'PUT', `/sessions/${own}`, body);
          if (a === null) continue;
          const id = a.body.id;
          expect(a.status === 201 && typeof id === 'string' && (own === null || id === own), 'create', a);
          if (a.status !== 201 || typeof id !== 'string') continue;
          held.push({ id, content, lastSentAt: sentAt });
          if (held.length > HELD_MAX) held.shift(); // abandoned: the server expires it
        } else if (k < 0.85) {
          const s = held[Math.floor(rand() * held.length)]!;
          const prev = s.lastSentAt;
          s.lastSentAt = performance.now();
          if (k < 0.5) {
            const text = textOf(rand);
            const a = await timed('append', 'POST', `/sessions/${s.id}/append`, text);
            if (a === null) continue;
            if (a.status === 404) {
              lost(s, prev, `append to ${s.id}`, a);
              continue;
            }
            s.content += text;
            expect(a.status === 200 && a.body.length === s.content.length, `append to ${s.id}`, a);
            if (s.content.length >= CONTENT_MAX) held.splice(held.indexOf(s), 1); // abandoned
          } else if (k < 0.8) {
            const a = await timed('read', 'GET', `/sessions/${s.id}`);
            if (a === null) continue;
            if (a.status === 404) {
              lost(s, prev, `read ${s.id}`, a);
              continue;
            }
            const ok = a.status === 200 && a.body.content === s.content;
            expect(ok, `read ${s.id} (expected ${s.content.length} characters)`, a);
          } else {
            held.splice(held.indexOf(s), 1);
            const a = await timed('delete', 'DELETE', `/sessions/${s.id}`);
            if (a === null) continue;
            if (a.status === 404) lost(s, prev, `delete ${s.id}`, a);
            else expect(a.status === 204, `delete ${s.id}`, a);
          }
        } else if (k < 0.9) {
          const a = await timed('stats', 'GET', '/stats');
          if (a !== null) expect(a.status === 200 && typeof a.body.live === 'number', 'stats', a);
        } else if (k < 0.95) {
          const a = await timed('bad', 'GET', `/sessions/never-made-${c}-${Math.floor(rand() * 1e9)}`);
          if (a !== null)
            expect(a.status === 404 && a.body.error === 'no_such_session', 'read of an unknown session', a);
        } else {
          const a = await timed('bad', 'POST', '/sessions', '{"content": ');
          if (a !== null) expect(a.status === 400 && a.body.error === 'bad_json', 'create with bad JSON', a);
        }
      }
    };

    const samples: ServerSample[] = [];
    let lastCpuUs = 0;
    let lastAt = start;
    const sampleNow = async (): Promise<{ reply: Record<string, unknown>; at: number }> => {
      const reply = await server.ask('sample', { t: 'sample' });
      return { reply, at: performance.now() };
    };
    const sampler = (async () => {
      // Resolves at the deadline; rejects (and so ends the run) if the server process fails.
      lastCpuUs = ((await sampleNow()).reply.cpuUs as number) ?? 0;
      lastAt = performance.now();
      for (let k = 1; ; k++) {
        const due = start + k * intervalS * 1000;
        if (due > deadline + 1 || opts.signal?.aborted === true) return;
        await sleep(Math.max(0, due - performance.now()));
        const window = latencies;
        latencies = [];
        const { reply, at } = await sampleNow();
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
          errors: errorCount,
          serverCpuPct: ((cpuUs - lastCpuUs) / ((at - lastAt) * 1000)) * 100,
          load1: loadavg()[0]!,
        };
        lastCpuUs = cpuUs;
        lastAt = at;
        samples.push(s);
        opts.onSample?.(s);
      }
    })();

    await Promise.all([...Array.from({ length: clients }, (_, c) => client(c)), sampler]);

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
      byKind,
      expired,
      wraps: drained.wraps!,
      created,
      disposed,
      errors,
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
