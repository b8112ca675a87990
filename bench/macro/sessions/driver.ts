/**
 * Macro: the shared-sessions workload (workload.ts) on sharedref and on what users would pick
 * instead: a comlink proxy to a `Map` on the main thread, a hand-written postMessage actor thread
 * owning the `Map`, and copies passed with every piscina task (no sharing). The creating thread
 * dispatches every request, as a server's main thread would, with two requests in flight per
 * worker, and times each from dispatch to answer.
 *
 * All four implementations, each with a 1-worker and a 2-worker pool, stay open side by side (an
 * idle pool's workers sleep) and take turns in rounds, in an order that rotates, so that all see
 * the same machine; a row's figures are medians over the rounds. Every lane of requests is a
 * seeded stream, the same for every implementation.
 *
 * Rejected: one implementation after another. On this shared 2-core machine runs a few seconds
 * apart saw different machines (the seed workload's 1- and 2-worker runs, before they took turns).
 */
import { sampleOf } from '../../lib/measure';
import type { Row } from '../../micro/core';
import { openActor } from './actor';
import { openComlink } from './comlink';
import { openCopies } from './copies';
import { type SessionServer, WORKER_COUNTS, type Workers } from './server';
import { openSharedref } from './sharedref';
import { type Request, requests } from './workload';

/** The implementations, sharedref first; the others are its baselines. */
const IMPLEMENTATIONS = {
  sharedref: openSharedref,
  comlink: openComlink,
  actor: openActor,
  copies: openCopies,
} as const;
/** One of the implementations. */
export type Implementation = keyof typeof IMPLEMENTATIONS;

/** What each alternative is, for tables and charts. */
export const DESCRIPTIONS: Record<Implementation, string> = {
  sharedref: 'sharedref: directory of raw handles, dataSync + dataMutSync',
  comlink: 'comlink proxy to a Map on the main thread',
  actor: 'postMessage actor thread owning the Map',
  copies: 'copies with every piscina task (no sharing)',
};

/** Requests in flight per worker. */
const LANES_PER_WORKER = 2;

/** One round of one implementation and pool size. */
interface Round {
  readonly requests: number;
  readonly seconds: number;
  /** Latency percentiles of the round's requests, ns. */
  readonly p50: number;
  readonly p99: number;
  /** Requests served again in the round (per-task copies only). */
  readonly retries: number;
}

/** One implementation at one pool size: medians over the rounds. */
export interface SessionsFigure {
  readonly implementation: Implementation;
  readonly workers: Workers;
  readonly requestsPerSecond: number;
  /** Latency, ns: the median over rounds of each round's percentile. */
  readonly p50: number;
  readonly p99: number;
  readonly rounds: number;
  /** Requests served again because their copies were stale (per-task copies only), over all rounds. */
  readonly retries: number;
}

/**
 * A lone request on the 1-worker pool, by part: p50 latency (ns) of the dispatch alone (a request
 * that does nothing), of an append without the read, and of the whole request.
 */
export interface RequestParts {
  readonly implementation: Implementation;
  readonly dispatch: number;
  readonly append: number;
  readonly full: number;
}

/** The rows, and every implementation's figures for the table and the chart. */
export interface SessionsResult {
  readonly rows: Row[];
  readonly figures: SessionsFigure[];
  readonly parts: RequestParts[];
}

interface Config {
  readonly implementation: Implementation;
  readonly workers: Workers;
  readonly server: SessionServer;
  readonly lanes: (() => Request)[];
  readonly rounds: Round[];
}

function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Serves requests on `c` from all its lanes for `seconds`. */
async function drive(c: Config, seconds: number): Promise<Round> {
  const latencies: number[] = [];
  const retried = c.server.retries;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    c.lanes.map(async (next) => {
      while (performance.now() < deadline) {
        const r = next();
        const start = process.hrtime.bigint();
        await c.server.serve(c.workers, r);
        latencies.push(Number(process.hrtime.bigint() - start));
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    seconds: elapsed,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    retries: c.server.retries - retried,
  };
}

/** Runs the workload; `quick` takes fewer and shorter rounds. */
export async function runSessions(quick: boolean, progress: (msg: string) => void): Promise<SessionsResult> {
  const rounds = quick ? 3 : 5;
  const roundSeconds = quick ? 0.6 : 1;
  progress('shared sessions: starting sharedref, comlink, actor and copies, 1 and 2 workers each');
  const servers = new Map<Implementation, SessionServer>();
  const configs: Config[] = [];
  try {
    for (const [implementation, open] of Object.entries(IMPLEMENTATIONS) as [
      Implementation,
      () => Promise<SessionServer>,
    ][]) {
      const server = await open();
      servers.set(implementation, server);
      for (const workers of WORKER_COUNTS) {
        const lanes = Array.from({ length: LANES_PER_WORKER * workers }, (_, lane) =>
          requests(0x5e55_0000 + 100 * workers + lane),
        );
        configs.push({ implementation, workers, server, lanes, rounds: [] });
      }
    }
    for (const c of configs) await drive(c, roundSeconds / 2); // warm-up, not counted
    for (let r = 0; r < rounds; r++) {
      progress(`shared sessions: round ${r + 1} of ${rounds}`);
      for (let k = 0; k < configs.length; k++) {
        const c = configs[(k + r * 3) % configs.length]!;
        c.rounds.push(await drive(c, roundSeconds));
      }
    }
    progress('shared sessions: one request at a time, by part');
    const parts: RequestParts[] = [];
    for (const [implementation, server] of servers)
      parts.push(await partsOf(implementation, server, quick ? 200 : 500));
    return { rows: rowsOf(configs), figures: configs.map(figureOf), parts };
  } finally {
    for (const server of servers.values()) await server.close();
  }
}

/**
 * Where a request's time goes: `count` appends of a seeded stream, one at a time on the 1-worker
 * pool, each sent three ways in a rotating order (nothing, the append alone, the whole request).
 */
async function partsOf(implementation: Implementation, server: SessionServer, count: number): Promise<RequestParts> {
  const next = requests(0x9a47_0000);
  const times: [number[], number[], number[]] = [[], [], []];
  for (let i = 0; i < count;) {
    const r = next();
    if (r.t !== 'append') continue;
    const ways: Request[] = [{ t: 'idle' }, { ...r, read: null }, r];
    for (let k = 0; k < 3; k++) {
      const way = (k + i) % 3;
      const start = process.hrtime.bigint();
      await server.serve(1, ways[way]!);
      times[way]!.push(Number(process.hrtime.bigint() - start));
    }
    i++;
  }
  const [dispatch, append, full] = times.map(median) as [number, number, number];
  return { implementation, dispatch, append, full };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1]!;
}

function figureOf(c: Config): SessionsFigure {
  return {
    implementation: c.implementation,
    workers: c.workers,
    requestsPerSecond: median(c.rounds.map((r) => r.requests / r.seconds)),
    p50: median(c.rounds.map((r) => r.p50)),
    p99: median(c.rounds.map((r) => r.p99)),
    rounds: c.rounds.length,
    retries: c.rounds.reduce((a, r) => a + r.retries, 0),
  };
}

/**
 * sharedref against each alternative, at each pool size: throughput (ns per request, higher
 * throughput is better) and p99 latency. The target is to be ahead of every alternative that
 * shares; the per-task copies share nothing, so their rows are for information.
 */
function rowsOf(configs: readonly Config[]): Row[] {
  const find = (implementation: Implementation, workers: Workers): Config =>
    configs.find((c) => c.implementation === implementation && c.workers === workers)!;
  const perRequest = (c: Config): Row['sample'] => sampleOf(c.rounds.map((r) => (r.seconds * 1e9) / r.requests));
  const p99 = (c: Config): Row['sample'] => sampleOf(c.rounds.map((r) => r.p99));
  const rows: Row[] = [];
  for (const workers of WORKER_COUNTS) {
    const ours = find('sharedref', workers);
    for (const other of ['comlink', 'actor', 'copies'] as const) {
      const theirs = find(other, workers);
      const reference = other === 'copies';
      rows.push({
        id: `sessions-throughput-vs-${other}-${workers}w`,
        what: `shared sessions, ${workers} worker${workers > 1 ? 's' : ''}: ns per request (throughput)`,
        sample: perRequest(ours),
        baseline: DESCRIPTIONS[other],
        baselineSample: perRequest(theirs),
        target: 1,
        higherIsBetter: true,
        ...(reference ? { reference } : { gap: 'docs/performance.md: shared sessions' }),
      });
      rows.push({
        id: `sessions-p99-vs-${other}-${workers}w`,
        what: `shared sessions, ${workers} worker${workers > 1 ? 's' : ''}: p99 latency`,
        sample: p99(ours),
        baseline: DESCRIPTIONS[other],
        baselineSample: p99(theirs),
        target: 1,
        ...(reference ? { reference } : { gap: 'docs/performance.md: shared sessions' }),
      });
    }
  }
  return rows;
}
