/**
 * The example server as N processes: one heap and pool per process, each session pinned to one
 * process by its id, and this primary process in front as the router. Primary process only; it
 * forks the workers (worker.js) with `node:cluster`.
 *
 * Why a router in front, and not node:cluster's shared port: a heap is one process, and a
 * session's references mean nothing in another one, so every request for a session must reach the
 * process that holds it. node:cluster hands out connections, and a keep-alive connection carries
 * requests for many sessions; only something that reads each request can route it. So each worker
 * listens on a loopback port of its own, and the primary forwards each request to the session's
 * owner (router.js), which is what nginx or HAProxy do in a deployment (docs/scaling.md).
 *
 * Routes, as the single server's (examples/server/README.md), with three differences:
 * - `POST /sessions`: the router picks the id (a random UUID), then forwards the create as
 *   `PUT /sessions/{id}` to the owner of that id; the answer is the same `201 { id, handle }`.
 * - `GET /stats`: every process's counters and their sum, `{ total, processes: [...] }`.
 * - every answer says which process served it (`X-Sharedref-Process`).
 *
 * A worker that dies loses its sessions (they were in its heap); a new process takes its slot,
 * and until it listens, requests for that slot get 503. A worker that dies before it ever listened
 * stops the cluster: a fault at start-up would only repeat.
 *
 * Run: npm run example:cluster   (environment: PORT, WORKERS, POOL_THREADS, SESSION_TTL_MS)
 */
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');
const { randomUUID } = require('node:crypto');
const { availableParallelism } = require('node:os');
const { join } = require('node:path');
const { intFromEnv } = require('../server/server');
const { aggregateStats, forward, ownerOf, sendJson, unavailable } = require('./router');

/** The session id in a request path, decoded, or null (a path that names no session). */
function sessionId(path) {
  const m = /^\/sessions\/([^/]+)(?:\/append)?$/.exec(path);
  if (m === null) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null; // the owner of any slot answers 400 for it
  }
}

/** Stops accepting connections and waits for open ones to finish, closing them after `ms`. */
function closeServer(server, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), ms);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

async function main() {
  const port = intFromEnv('PORT', 3000, 0, 65535);
  const workers = intFromEnv('WORKERS', Math.max(2, Math.min(8, availableParallelism())), 1, 64);

  cluster.setupPrimary({ exec: join(__dirname, 'worker.js') });
  /** One slot per process: its index, the worker, its port once it listens, and a keep-alive agent. */
  const slots = Array.from({ length: workers }, (_, index) => ({
    index,
    worker: null,
    pid: null,
    port: null,
    agent: null,
    closed: null,
  }));
  let stopping = null;
  let roundRobin = 0;

  /** Forks the process of `slot`; resolves when it listens, rejects if it exits before. */
  const fork = (slot) =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork({ CLUSTER_SLOT: String(slot.index) });
      Object.assign(slot, { worker, pid: worker.process.pid, port: null, closed: null });
      worker.on('message', (msg) => {
        if (msg?.t === 'listening') {
          slot.agent = new http.Agent({ keepAlive: true });
          slot.port = msg.port;
          resolve(slot);
        } else if (msg?.t === 'closed') {
          slot.closed = { created: msg.created, disposed: msg.disposed };
        }
      });
      worker.on('exit', (code, signal) => {
        slot.agent?.destroy();
        const listened = slot.port !== null;
        Object.assign(slot, { port: null, agent: null });
        if (!listened) {
          reject(new Error(`process ${slot.index} exited before listening (code ${code}, signal ${signal})`));
          return;
        }
        if (stopping !== null) return;
        const how = `code ${code}, signal ${signal}`;
        console.error(`process ${slot.index} (pid ${worker.process.pid}) died (${how}); its sessions are lost`);
        fork(slot).then(
          () => console.log(`process ${slot.index} restarted (pid ${slot.pid}) on http://127.0.0.1:${slot.port}`),
          (err) => {
            console.error(err.message);
            shutdown('restart failure', 1);
          },
        );
      });
    });

  const route = async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const pick = (index) => {
      const slot = slots[index];
      if (slot.port === null) unavailable(res, index);
      return slot.port === null ? null : slot;
    };
    if (path === '/stats' && req.method === 'GET') {
      sendJson(res, 200, await aggregateStats(slots));
      return;
    }
    if (path === '/sessions' && req.method === 'POST') {
      const id = randomUUID();
      const slot = pick(ownerOf(id, workers));
      if (slot !== null) forward(req, res, slot, 'PUT', `/sessions/${id}`);
      return;
    }
    const id = sessionId(path);
    // No session in the path: any process answers (404 for an unknown route, 405 for a wrong method).
    const slot = pick(id === null ? roundRobin++ % workers : ownerOf(id, workers));
    if (slot !== null) forward(req, res, slot);
  };

  const front = http.createServer((req, res) => {
    route(req, res).catch((err) => {
      console.error('routing failed:', err);
      sendJson(res, 500, { error: 'internal', message: 'the request failed; see the server log' });
    });
  });

  const shutdown = (why, exitCode = 0) => {
    stopping ??= (async () => {
      console.log(`${why}: shutting down`);
      await closeServer(front, 5000); // requests in flight finish first
      const exits = slots
        .filter((s) => s.worker !== null && !s.worker.isDead())
        .map((s) => {
          const exited = new Promise((resolve) => s.worker.once('exit', resolve));
          if (s.worker.isConnected()) s.worker.send({ t: 'stop' });
          else s.worker.process.kill('SIGTERM');
          // A process that does not stop in time is killed: shutdown never hangs.
          const timer = setTimeout(() => s.worker.process.kill('SIGKILL'), 10_000);
          return exited.then(() => clearTimeout(timer));
        });
      await Promise.all(exits);
      const closed = slots.map((s) => s.closed).filter((c) => c !== null);
      const created = closed.reduce((n, c) => n + c.created, 0);
      const disposed = closed.reduce((n, c) => n + c.disposed, 0);
      console.log(`closed: ${closed.length} of ${workers} processes, ${created} values created, ${disposed} disposed`);
      process.exitCode = exitCode;
    })().catch((err) => {
      console.error('shutdown failed:', err);
      process.exitCode = 1;
    });
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));

  try {
    await Promise.all(slots.map(fork));
    await new Promise((resolve, reject) => {
      front.once('error', reject);
      front.listen(port, '127.0.0.1', resolve);
    });
  } catch (err) {
    console.error(err.message); // a process that could not start (it said why), or the port is taken
    shutdown('start-up failure', 1);
    return;
  }
  for (const s of slots) console.log(`process ${s.index} (pid ${s.pid}) on http://127.0.0.1:${s.port}`);
  console.log(`sharedref cluster listening on http://127.0.0.1:${front.address().port} (${workers} processes)`);
}

main().catch((err) => {
  console.error(err instanceof RangeError ? err.message : err);
  process.exitCode = 1;
});
