/**
 * The shared-sessions workload on sharedref, written as a user would with the public API. The
 * creating thread; its workers run sharedref-tasks.ts.
 *
 * Each session is a plain object in the heap. This thread holds each one as a `ManuallyRooted`
 * and publishes its raw handle in a directory of `SESSIONS` words in a `SharedArrayBuffer`, which
 * every worker reads: a worker finds any session by slot, takes a count of its own with `fromRaw`,
 * reads it with `dataSync` (no round trip when its cache is current) and appends with
 * `dataMutSync` (an exclusive read-modify-write, serialized across threads). A renew makes the new
 * session in a worker, which returns it; this thread swaps it into the directory and unroots the
 * old one, which is disposed once no worker holds it.
 *
 * Rejected: passing the two sessions as roots in each task's arguments. That works too, but then
 * the dispatcher must know every session a request touches, which is the limit of the per-task
 * copies; the directory lets a worker reach any session.
 */
import { join } from 'node:path';
import { ExternRef, Heap, type ManuallyRooted, type Pool, type Rooted } from '../../../src';
import { type SessionServer, WORKER_COUNTS, type Workers } from './server';
import { SESSIONS, newSession } from './workload';

/** Renews between two collections started by this thread. */
const RENEWS_PER_GC = 256;

/** Opens the sharedref implementation, with one pool of each size on one heap. */
export async function openSharedref(): Promise<SessionServer> {
  // Every worker reads any of the sessions, so each store's read cache is sized to hold them all
  // (the default, 1024 values in two ways, is about the size of the sessions alone).
  const heap = await Heap.create({ cacheSize: 4 * SESSIONS });
  const directory = new Int32Array(new SharedArrayBuffer(4 * SESSIONS));
  const roots: ManuallyRooted[] = [];
  for (let slot = 0; slot < SESSIONS; slot++) {
    const root = ExternRef.newManuallyRooted(heap.store, newSession(slot, 0));
    roots.push(root);
    Atomics.store(directory, slot, root.toRaw());
  }
  const pools = new Map<Workers, Pool>(
    WORKER_COUNTS.map((w) => [
      w,
      heap.createPool({
        filename: join(__dirname, 'sharedref-tasks.ts'),
        minThreads: w,
        maxThreads: w,
        workerData: { directory },
      }),
    ]),
  );
  let renews = 0;
  return {
    retries: 0,
    serve(workers, r) {
      const pool = pools.get(workers)!;
      if (r.t === 'append') return pool.run('append', r.read, r.append, r.seq);
      if (r.t === 'idle') return pool.run('idle');
      return heap.store.scope(async () => {
        const fresh = (await pool.run('renew', r.slot, r.seq)) as Rooted;
        const kept = fresh.toManuallyRooted();
        Atomics.store(directory, r.slot, kept.toRaw()); // workers find the new session from now on
        roots[r.slot]!.unroot(); // the old one is disposed once no worker holds it
        roots[r.slot] = kept;
        if (++renews % RENEWS_PER_GC === 0) void heap.gc();
      });
    },
    async close() {
      for (const root of roots) root.unroot();
      await heap.close();
    },
  };
}
