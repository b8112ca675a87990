/**
 * The one hook the benchmark harness needs inside the library: a bare piscina task on a pool's
 * own workers, the baseline of `pool-run-2-refs` (docs/performance.md).
 *
 * The creating thread (`bareRun`) and pool workers (`isBareTask`). No package entry re-exports
 * this module and `package.json` `exports` does not reach it: its only user is `bench/` (and the
 * test that pins it). A bare task is answered with its payload before the worker touches its
 * store: no scope, no transfers. It must run on the row's own worker: against another pool's
 * worker the ratio mostly measured which cores the two threads landed on (up to 2.1× between two
 * identical pools).
 *
 * `Pool` hands this module a function over its private piscina instance, in a static block, so
 * neither the hook nor its message type appears in `Pool`'s declarations. Rejected: a method
 * (`Pool._bareRun`, before), which showed in the published `.d.ts` and in every editor's
 * completions; a symbol-keyed method, which still shows there, as `[kBareRun]`.
 */
import { InternalError } from '../errors';
import type { Pool } from '../pool/pool';

/** Pool → worker: a bare task. The worker answers with `bare` itself. */
export interface BareTask {
  readonly bare: unknown;
}

/** True for a bare task (any other task message has no `bare` key). */
export function isBareTask(m: object): m is BareTask {
  return 'bare' in m;
}

let bareRunOf: ((pool: Pool, payload: unknown) => Promise<unknown>) | null = null;

/** Called once, by pool.ts when it loads. */
export function provideBareRun(fn: (pool: Pool, payload: unknown) => Promise<unknown>): void {
  bareRunOf = fn;
}

/** Runs a bare task on one of `pool`'s workers; resolves with `payload` as the worker got it. */
export function bareRun(pool: Pool, payload: unknown): Promise<unknown> {
  // A caller holding a Pool has loaded pool.ts, whose static block provided the function.
  if (bareRunOf === null) return Promise.reject(new InternalError('bareRun before pool.ts was loaded'));
  return bareRunOf(pool, payload);
}
