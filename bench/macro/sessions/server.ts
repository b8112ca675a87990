/**
 * What every implementation of the shared-sessions workload offers the driver: serve one request
 * on its pool of 1 or 2 workers. The creating thread (the benchmark's main thread).
 */
import type { Request } from './workload';

/** Pool sizes the workload runs at. */
export const WORKER_COUNTS = [1, 2] as const;
/** One of `WORKER_COUNTS`. */
export type Workers = (typeof WORKER_COUNTS)[number];

/** One implementation, with a pool of each size open. */
export interface SessionServer {
  /** Serves `r` on the pool of `workers` workers; resolves when the request is done. */
  serve(workers: Workers, r: Request): Promise<unknown>;
  /** Requests served again because their copy was stale (only the per-task copies). */
  readonly retries: number;
  close(): Promise<void>;
}
