/**
 * One process of the cluster: the example server (examples/server) with its own heap, pool and
 * sessions, on a loopback port of its own. A `node:cluster` worker process; cluster.js forks it.
 *
 * It tells the primary its port once it listens (`{ t: 'listening', port }`) and stops when the
 * primary says so (`{ t: 'stop' }`) or on SIGTERM. Stopping is the server's own: requests in
 * flight finish, every session is unrooted, the heap closes; the last message to the primary is
 * `{ t: 'closed', created, disposed }`, and the worker then leaves the cluster with
 * `cluster.worker.disconnect()` (a bare `process.disconnect()` would make node:cluster exit the
 * process with code 0, whatever happened). SIGINT is left to the primary, which stops the workers
 * in order (Ctrl-C in a terminal reaches every process of the group at once). If the primary dies,
 * node:cluster ends the worker at once when the IPC channel closes: no worker outlives its primary.
 */
'use strict';
const cluster = require('node:cluster');
const { startServer, intFromEnv } = require('../server/server');

let started;
try {
  const ttlMs = intFromEnv('SESSION_TTL_MS', 60_000, 1, 2 ** 31 - 1);
  const threads = intFromEnv('POOL_THREADS', 1, 1, 63);
  // exclusive: a port of this process's own, which the primary forwards to; not a shared one.
  started = startServer({ port: 0, ttlMs, threads, exclusive: true });
} catch (err) {
  started = Promise.reject(err); // a bad setting: stop() below reports it, and the primary stops
}

let stopping = null;
/** Stops the server (once); the primary may ask before it even listens. */
function stop() {
  stopping ??= started
    .then((running) => running.stop())
    .then(({ created, disposed }) => {
      if (process.connected) process.send({ t: 'closed', created, disposed });
    })
    .catch((err) => {
      const text = err instanceof RangeError ? err.message : err;
      console.error(`process ${process.env.CLUSTER_SLOT} failed:`, text);
      process.exitCode = 1;
    })
    .finally(() => {
      if (process.connected) cluster.worker.disconnect();
      // Nothing should be left to keep the process alive; if something is, do not hang forever.
      setTimeout(() => process.exit(1), 5000).unref();
    });
}

process.on('message', (msg) => {
  if (msg?.t === 'stop') stop();
});
process.on('SIGTERM', stop);
process.on('SIGINT', () => undefined);

started.then(
  (running) => {
    if (stopping === null && process.connected) process.send({ t: 'listening', port: running.port });
  },
  stop, // could not start: stop() reports the error, and the primary sees an exit before listening
);
