/**
 * The cluster example (examples/cluster): the example server as 2 processes on loopback behind
 * the primary, which routes each request by session id. Sessions made in either process work
 * through the router, each exists only in its own process, /stats sums both, a process that dies
 * is replaced (its sessions lost, the other's kept), and shutdown leaves no process behind, also
 * when the primary itself is killed.
 */
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPackage, childEnv, repo } from '../build';
import { waitFor } from '../helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ownerOf } = require(join(repo, 'examples', 'cluster', 'router.js')) as {
  ownerOf(id: string, n: number): number;
};

interface Answer {
  status: number;
  process: string | null;
  body: Record<string, unknown>;
}

interface Stats {
  total: Record<string, number>;
  processes: { process: number; pid: number; up: boolean; stats: Record<string, number> | null }[];
}

/** A running cluster: its primary, its URL, and each process slot's pid and direct URL. */
interface Cluster {
  primary: ChildProcess;
  url: string;
  slots: { pid: number; url: string }[];
  output: { text: string };
  /** Every worker pid seen, replacements included, so that none is left behind. */
  pids: Set<number>;
}

/** Starts the cluster with 2 processes on free ports; resolves once the primary says it listens. */
function startCluster(): Promise<Cluster> {
  const primary = spawn(process.execPath, [join('examples', 'cluster', 'cluster.js')], {
    cwd: repo,
    env: { ...childEnv(), PORT: '0', WORKERS: '2', POOL_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const cluster: Cluster = { primary, url: '', slots: [], output: { text: '' }, pids: new Set() };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the cluster did not start in 30 s:\n${cluster.output.text}`)),
      30_000,
    );
    const read = (chunk: Buffer): void => {
      cluster.output.text += chunk.toString();
      for (const m of cluster.output.text.matchAll(/process (\d) (?:\(pid|restarted \(pid) (\d+)\)/g)) {
        cluster.pids.add(Number(m[2]));
      }
      const listening = /cluster listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(cluster.output.text);
      if (listening !== null && cluster.url === '') {
        cluster.url = listening[1]!;
        for (const m of cluster.output.text.matchAll(/process (\d) \(pid (\d+)\) on (http:\/\/127\.0\.0\.1:\d+)/g)) {
          cluster.slots[Number(m[1])] = { pid: Number(m[2]), url: m[3]! };
        }
        clearTimeout(timer);
        resolve(cluster);
      }
    };
    primary.stdout!.on('data', read);
    primary.stderr!.on('data', read);
    primary.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the cluster exited with code ${code} before listening:\n${cluster.output.text}`));
    });
  });
}

/** Whether process `pid` still runs (a zombie nobody reaped has exited). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc here: kill(pid, 0) succeeded
  }
}

/** Kills whatever of `cluster` still runs (after a failed test); waits for the primary's exit. */
async function killCluster(cluster: Cluster | null): Promise<void> {
  if (cluster === null) return;
  const { primary } = cluster;
  if (primary.exitCode === null && primary.signalCode === null) {
    const exited = once(primary, 'exit');
    primary.kill('SIGKILL');
    await exited;
  }
  for (const pid of cluster.pids) {
    if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  }
}

async function request(base: string, method: string, path: string, body?: string): Promise<Answer> {
  const res = await fetch(base + path, { method, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return {
    status: res.status,
    process: res.headers.get('x-sharedref-process'),
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

/** A session id that the router sends to process `slot` (of 2). */
function idFor(slot: number, tag: string): string {
  for (let i = 0; ; i++) if (ownerOf(`${tag}-${i}`, 2) === slot) return `${tag}-${i}`;
}

describe('example cluster: the server as 2 processes behind a router', () => {
  let cluster: Cluster | null = null;
  const sessions: { id: string; slot: number; content: string }[] = [];

  before(async function () {
    this.timeout(120_000);
    await buildPackage(); // the example requires the built package
    cluster = await startCluster();
  });

  after(async function () {
    this.timeout(20_000);
    await killCluster(cluster); // the last test stops it; this only cleans up after a failure
  });

  it('routes each session to the process its id hashes to, and create, append and read work in both', async () => {
    const c = cluster!;
    for (const slot of [0, 1]) {
      // A session whose id the client chose, and one whose id the router chose.
      const chosen = idFor(slot, 'client');
      const put = await request(c.url, 'PUT', `/sessions/${chosen}`, JSON.stringify({ content: `${slot}:` }));
      expect([put.status, put.process, put.body.id], JSON.stringify(put.body)).to.deep.equal([201, `${slot}`, chosen]);
      sessions.push({ id: chosen, slot, content: `${slot}:` });
    }
    for (let i = 0; i < 4; i++) {
      const post = await request(c.url, 'POST', '/sessions', JSON.stringify({ content: 'made by the router' }));
      expect(post.status, JSON.stringify(post.body)).to.equal(201);
      const id = post.body.id as string;
      expect(post.process).to.equal(`${ownerOf(id, 2)}`);
      sessions.push({ id, slot: ownerOf(id, 2), content: 'made by the router' });
    }
    for (const s of sessions) {
      const appended = await request(c.url, 'POST', `/sessions/${s.id}/append`, ' + more');
      expect([appended.status, appended.process]).to.deep.equal([200, `${s.slot}`]);
      s.content += ' + more';
      const read = await request(c.url, 'GET', `/sessions/${s.id}`);
      expect([read.status, read.process, read.body.content]).to.deep.equal([200, `${s.slot}`, s.content]);
    }
    const again = await request(c.url, 'PUT', `/sessions/${sessions[0]!.id}`);
    expect([again.status, again.body.error]).to.deep.equal([409, 'session_exists']);
  });

  it('a session exists only in its own process: the other one does not know its id', async () => {
    const c = cluster!;
    for (const s of sessions.slice(0, 2)) {
      expect((await request(c.slots[s.slot]!.url, 'GET', `/sessions/${s.id}`)).status).to.equal(200);
      expect((await request(c.slots[1 - s.slot]!.url, 'GET', `/sessions/${s.id}`)).status).to.equal(404);
    }
  });

  it('GET /stats answers every process and their sum', async () => {
    const c = cluster!;
    const res = await request(c.url, 'GET', '/stats');
    expect(res.status).to.equal(200);
    const stats = res.body as unknown as Stats;
    expect(stats.processes.map((p) => [p.process, p.pid, p.up])).to.deep.equal([
      [0, c.slots[0]!.pid, true],
      [1, c.slots[1]!.pid, true],
    ]);
    for (const field of ['capacity', 'live', 'created', 'disposed', 'collections', 'stores']) {
      const sum = stats.processes.reduce((n, p) => n + p.stats![field]!, 0);
      expect(stats.total[field], field).to.equal(sum);
    }
    expect(stats.total.stores, 'each process: the main thread and one pool worker').to.equal(4);
    for (const p of stats.processes) {
      const own = sessions.filter((s) => s.slot === p.process).length;
      expect(p.stats!.live, `process ${p.process} holds its ${own} sessions`).to.be.at.least(own);
    }
  });

  it('a process that dies loses its sessions; its replacement takes its slot, the other keeps its own', async () => {
    const c = cluster!;
    const dead = c.slots[1]!.pid;
    process.kill(dead, 'SIGKILL');
    await waitFor(() => /process 1 restarted/.test(c.output.text), 'process 1 to be replaced', 20_000);
    const stats = (await request(c.url, 'GET', '/stats')).body as unknown as Stats;
    expect(stats.processes[1]!.up).to.equal(true);
    expect(stats.processes[1]!.pid).to.not.equal(dead);
    for (const s of sessions) {
      const read = await request(c.url, 'GET', `/sessions/${s.id}`);
      expect([s.slot, read.status]).to.deep.equal([s.slot, s.slot === 1 ? 404 : 200]);
    }
  });

  it('stops on SIGTERM: every process disposes its values and exits, then the primary exits with 0', async function () {
    this.timeout(30_000);
    const c = cluster!;
    const exited = once(c.primary, 'exit');
    c.primary.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect([code, signal], c.output.text).to.deep.equal([0, null]);
    const closed = /closed: 2 of 2 processes, (\d+) values created, (\d+) disposed/.exec(c.output.text);
    expect(closed, c.output.text).to.not.equal(null);
    expect(closed![2]).to.equal(closed![1]);
    expect([...c.pids].filter(isRunning), 'worker processes left running').to.deep.equal([]);
  });
});

describe('example cluster: when the primary is killed', () => {
  let cluster: Cluster | null = null;

  after(async function () {
    this.timeout(20_000);
    await killCluster(cluster);
  });

  it('every worker process stops by itself: none outlives its primary', async function () {
    this.timeout(60_000);
    await buildPackage();
    cluster = await startCluster();
    const c = cluster;
    const exited = once(c.primary, 'exit');
    c.primary.kill('SIGKILL');
    await exited;
    await waitFor(() => ![...c.pids].some(isRunning), 'the worker processes to exit', 20_000);
    expect(c.pids.size).to.equal(2);
  });
});
