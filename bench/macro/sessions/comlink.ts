/**
 * The shared-sessions workload with a comlink proxy: this thread owns the sessions in a `Map`, and
 * piscina workers call it through comlink (comlink-worker.ts) to read and append. The creating
 * thread, which also dispatches the requests, as a server's main thread would.
 *
 * Each worker makes its own channel when it starts and posts one end through its parentPort
 * (piscina re-emits it on the pool), so that every worker has a port of its own to this thread.
 * piscina runs with its defaults, as a user of plain piscina would. Rejected: a comlink proxy
 * passed with each task (`Comlink.transfer` of a fresh port), a channel set up per request.
 */
import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter';
import { Piscina } from 'piscina';
import { sessionMap } from './map-owner';
import { type SessionServer, WORKER_COUNTS, type Workers } from './server';

/** Opens the comlink implementation, with one pool of each size. */
export async function openComlink(): Promise<SessionServer> {
  const api = sessionMap();
  const pools = new Map<Workers, Piscina>();
  const ports: MessagePort[] = [];
  for (const w of WORKER_COUNTS) {
    const pool = new Piscina({ filename: join(__dirname, 'comlink-worker.ts'), minThreads: w, maxThreads: w });
    pool.on('message', (m: { sessionsPort?: MessagePort }) => {
      if (m.sessionsPort === undefined) return;
      ports.push(m.sessionsPort);
      Comlink.expose(api, nodeEndpoint(m.sessionsPort as never));
    });
    pools.set(w, pool);
  }
  return {
    retries: 0,
    serve: (workers, r) => pools.get(workers)!.run(r),
    async close() {
      for (const pool of pools.values()) await pool.destroy();
      for (const port of ports) port.close();
    },
  };
}
