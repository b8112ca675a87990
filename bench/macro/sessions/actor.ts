/**
 * The shared-sessions workload with a hand-written actor: one worker thread owns the sessions'
 * `Map` (actor-thread.ts) and piscina workers (actor-worker.ts) send it messages. The creating
 * thread only starts the actor and the pools, hands each worker's port to the actor, and
 * dispatches requests. piscina runs with its defaults. Rejected: comlink between the workers and
 * the actor, which is the comlink implementation's cost again; this one is one plain object each
 * way per operation.
 */
import { join } from 'node:path';
import { type MessagePort, Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { type SessionServer, WORKER_COUNTS, type Workers } from './server';

/** Opens the actor implementation, with one pool of each size. */
export async function openActor(): Promise<SessionServer> {
  const actor = new Worker(join(__dirname, 'actor-thread.ts'));
  await new Promise((resolve, reject) => {
    actor.once('online', resolve);
    actor.once('error', reject);
  });
  const pools = new Map<Workers, Piscina>();
  for (const w of WORKER_COUNTS) {
    const pool = new Piscina({ filename: join(__dirname, 'actor-worker.ts'), minThreads: w, maxThreads: w });
    pool.on('message', (m: { actorClient?: MessagePort }) => {
      if (m.actorClient !== undefined) actor.postMessage({ client: m.actorClient }, [m.actorClient]);
    });
    pools.set(w, pool);
  }
  return {
    retries: 0,
    serve: (workers, r) => pools.get(workers)!.run(r),
    async close() {
      for (const pool of pools.values()) await pool.destroy();
      await actor.terminate();
    },
  };
}
