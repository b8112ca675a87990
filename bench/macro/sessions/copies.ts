/**
 * The shared-sessions workload with no sharing: this thread owns the sessions and passes copies
 * of the two a request needs with every piscina task (copies-worker.ts); the worker returns the
 * changed session and this thread puts it back. The creating thread. piscina runs with its
 * defaults.
 *
 * What it cannot do: a worker sees only the sessions the dispatcher chose before the task began
 * (a request cannot look one up as it goes); every request copies both sessions both ways, so its
 * cost grows with their size; only structured-cloneable values can travel. Two requests in flight
 * may change the same session: the second to return would overwrite the first's change, so a
 * result whose session changed meanwhile is thrown away and the request served again with fresh
 * copies (counted in `retries`). Rejected: keeping the last result to return (it loses updates
 * and would look faster for it).
 */
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { type SessionServer, WORKER_COUNTS, type Workers } from './server';
import { type Session, SESSIONS, newSession } from './workload';

/** Opens the per-task copies implementation, with one pool of each size. */
export async function openCopies(): Promise<SessionServer> {
  const sessions = new Map<number, Session>();
  for (let slot = 0; slot < SESSIONS; slot++) sessions.set(slot, newSession(slot, 0));
  const pools = new Map<Workers, Piscina>(
    WORKER_COUNTS.map((w) => [
      w,
      new Piscina({ filename: join(__dirname, 'copies-worker.ts'), minThreads: w, maxThreads: w }),
    ]),
  );
  const server = {
    retries: 0,
    async serve(workers: Workers, r: Parameters<SessionServer['serve']>[1]): Promise<unknown> {
      const pool = pools.get(workers)!;
      if (r.t === 'idle') return pool.run({ r });
      if (r.t === 'renew') {
        sessions.set(r.slot, (await pool.run({ r })) as Session);
        return 0;
      }
      for (;;) {
        const target = sessions.get(r.append)!;
        const read = r.read === null ? null : sessions.get(r.read)!;
        const changed = (await pool.run({ r, read, append: target })) as Session;
        if (sessions.get(r.append) === target) {
          sessions.set(r.append, changed);
          return changed.hits;
        }
        server.retries++;
      }
    },
    async close() {
      for (const pool of pools.values()) await pool.destroy();
    },
  };
  return server;
}
