/**
 * `Pool`: piscina workers, each with its own store on the heap.
 *
 * The creating thread. `pool.run(task, ...args)` sends roots in `args` as transfers (each carries
 * one new count; the caller's roots stay as they were), and adopts roots in the result into the
 * caller's current scope. Transfers nobody adopted are released when the task settles, whether it
 * succeeded, threw, was aborted or its worker died — so nothing leaks (I4).
 *
 * piscina runs with `atomics: 'disabled'`. With the default (`'sync'`) an idle worker sleeps in
 * `Atomics.wait` between tasks and does not run its event loop, so replies to its own comlink
 * calls and its microtask-batched value posts would stall until its next task. Disabled costs a
 * few microseconds per task and keeps every worker responsive.
 *
 * Worker deaths need no bookkeeping here: the coordinator learns of them from the store's control
 * port closing, and piscina fails the dead worker's task and starts a replacement.
 */
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { Piscina } from 'piscina';
import { HeapClosedError, PoolClosedError, deserializeError } from '../errors';
import { asNotCloneable } from '../internal/clone-failure';
import { checkInteger, describe } from '../options';
import type { TransferToken } from '../shared/transfer-table';
import type { Store } from '../store/store';
import { coreOf } from '../store/internal';
import { createAbandonedTags, markAbandoned } from '../shared/abandoned-tags';
import { type BareTask, provideBareRun } from '../internal/bench-hooks';
import { isAttachMessage, type PoolWorkerData, type TaskMessage, type TaskOutcome } from './protocol';
import type { TaskArgs, TaskName, TaskResult } from './task-types';
import { FailedTasks, packRoots, unpackRoots } from './transfer';

let lastTaskTag = 0;
/** Tags for task results, unique on this thread (every pool of the thread shares them). */
function nextTaskTag(): number {
  lastTaskTag = lastTaskTag >= 0x7fffffff ? 1 : lastTaskTag + 1;
  return lastTaskTag;
}

/** Options of `heap.createPool()`. */
export interface PoolOptions {
  /** Absolute path of the worker file (`module.exports = defineTasks({...})`). Required. */
  filename: string;
  /** Workers kept running. Default: half the available parallelism, at least 1. */
  minThreads?: number;
  /** Most workers at once. Default: the available parallelism. */
  maxThreads?: number;
  /** Idle ms before a worker above `minThreads` exits. Default 60000. */
  idleTimeout?: number;
  /** Ms `close()` waits for running tasks before terminating workers. Default 10000. */
  closeTimeout?: number;
  /** Passed to each task as `ctx.workerData`. */
  workerData?: unknown;
  /** Passed to piscina (`resourceLimits`, `env`, `argv`, `execArgv`, `maxQueue`, `name`, …). */
  piscina?: Record<string, unknown>;
}

/**
 * One task run with options. For a typed pool (`Pool<typeof tasks>`), `task` is one of its task
 * names and `args` that task's arguments, required when it takes any.
 */
export type RunTaskOptions<T = unknown, K extends TaskName<T> = TaskName<T>> = {
  /** The task's name in the worker file. */
  task: K;
  /** Aborting terminates the worker running the task (piscina's semantics). */
  signal?: AbortSignal;
} & ([] extends TaskArgs<T, K>
  ? {
      /** Its arguments; roots inside travel as transfers. */
      args?: TaskArgs<T, K>;
    }
  : {
      /** Its arguments; roots inside travel as transfers. */
      args: TaskArgs<T, K>;
    });

/** @internal What the heap gives a pool. */
export interface PoolHost {
  readonly id: number;
  readonly memory: WebAssembly.Memory;
  readonly store: Store;
  readonly options: PoolWorkerData['sharedref']['options'];
  registerStore(storeId: number, ports: import('../rpc/protocol').StorePorts): void;
  removeResource(r: { close(): Promise<void> }): void;
  readonly closed: boolean;
}

/**
 * A piscina pool whose workers share the heap. `T` is the type of the worker file's tasks
 * (`heap.createPool<typeof tasks>(…)`, see task-types.ts); it exists in the types only, and
 * `unknown` (the default) allows any task name.
 */
export class Pool<T = unknown> implements AsyncDisposable {
  readonly #piscina: Piscina<TaskMessage | BareTask, unknown>;
  readonly #host: PoolHost;
  readonly #closeTimeout: number;
  readonly #abandoned = createAbandonedTags();
  readonly #failed = new FailedTasks();
  #closing: Promise<void> | null = null;
  /** Tasks given to piscina and not settled yet, and who waits for there to be none. */
  #inFlight = 0;
  #onIdle: (() => void) | null = null;

  static {
    // The benchmark's baseline for `run` (src/internal/bench-hooks.ts), kept out of Pool's declarations.
    provideBareRun((pool, payload) => pool.#piscina.run({ bare: payload }));
  }

  /** @internal Use `heap.createPool(options)`. */
  constructor(host: PoolHost, options: PoolOptions, entry: { filename: string; execArgv: string[] | undefined }) {
    if (options === null || typeof options !== 'object')
      throw new TypeError(`options must be an object, received ${describe(options)}`);
    if (typeof options.filename !== 'string' || options.filename.length === 0) {
      throw new TypeError(`options.filename must be the path of a worker file, received ${describe(options.filename)}`);
    }
    const cpus = availableParallelism();
    const maxThreads =
      options.maxThreads === undefined ? cpus : checkInteger('maxThreads', options.maxThreads, 1, 1024);
    const minThreads =
      options.minThreads === undefined
        ? Math.min(maxThreads, Math.max(1, cpus >> 1))
        : checkInteger('minThreads', options.minThreads, 0, maxThreads);
    const idleTimeout =
      options.idleTimeout === undefined ? 60_000 : checkInteger('idleTimeout', options.idleTimeout, 0, 2 ** 31 - 1);
    this.#closeTimeout =
      options.closeTimeout === undefined ? 10_000 : checkInteger('closeTimeout', options.closeTimeout, 0, 2 ** 31 - 1);
    if (maxThreads > host.options.maxStores - 1) {
      throw new RangeError(
        `options.maxThreads must leave a store for the creating thread: at most ${host.options.maxStores - 1} ` +
          `(options.maxStores - 1), received ${maxThreads}`,
      );
    }
    this.#host = host;
    // Checked now: piscina clones it when it starts a worker, which may be much later (minThreads
    // 0), where the failure would reach no caller.
    try {
      structuredClone(options.workerData);
    } catch (err) {
      throw new TypeError(
        `options.workerData must be structured-cloneable (it is copied to every worker): ${(err as Error).message}`,
        { cause: err },
      );
    }
    const workerData: PoolWorkerData = {
      sharedref: {
        memory: host.memory,
        heapId: host.id,
        options: host.options,
        filename: resolvePath(options.filename),
        abandoned: this.#abandoned,
      },
      user: options.workerData,
    };
    this.#piscina = new Piscina<TaskMessage | BareTask, unknown>({
      ...(options.piscina ?? {}),
      filename: entry.filename,
      ...(entry.execArgv !== undefined ? { execArgv: entry.execArgv } : {}),
      minThreads,
      maxThreads,
      idleTimeout,
      closeTimeout: this.#closeTimeout,
      atomics: 'disabled',
      workerData,
    });
    this.#piscina.on('message', (m: unknown) => {
      if (isAttachMessage(m)) host.registerStore(m.sharedrefAttach.storeId, m.sharedrefAttach.ports);
    });
    this.#piscina.on('workerDestroy', () => this.#sweepFailed());
    // A task failure is reported to its caller; a worker error outside any task is only logged.
    this.#piscina.on('error', () => undefined);
  }

  /** Runs `task` on a worker with `args`; resolves with its result (roots adopted into the current scope). */
  run<K extends TaskName<T>>(task: K, ...args: TaskArgs<T, K>): Promise<TaskResult<T, K>> {
    return this.runTask({ task, args } as RunTaskOptions<T, K>);
  }

  /** Like `run`, with options (an `AbortSignal`). */
  async runTask<K extends TaskName<T>>(typed: RunTaskOptions<T, K>): Promise<TaskResult<T, K>> {
    const options = typed as RunTaskOptions; // checked below: any value may arrive here
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`runTask: options must be an object, received ${describe(options)}`);
    }
    if (this.#closing !== null || this.#host.closed) {
      throw new PoolClosedError(`run(${JSON.stringify(options.task)})`);
    }
    if (typeof options.task !== 'string') {
      throw new TypeError(`options.task must be a task name, received ${describe(options.task)}`);
    }
    const taskArgs = options.args === undefined ? [] : options.args;
    if (!Array.isArray(taskArgs)) {
      throw new TypeError(`options.args must be an array of arguments, received ${describe(taskArgs)}`);
    }
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new TypeError(`options.signal must be an AbortSignal, received ${describe(options.signal)}`);
    }
    const what = `pool.run(${JSON.stringify(options.task)}) arguments`;
    const store = this.#host.store;
    const core = coreOf(store);
    const sent: TransferToken[] = [];
    const replyTo = { storeId: store.id, tag: nextTaskTag() };
    let outcome: TaskOutcome;
    this.#inFlight++;
    try {
      const args = packRoots(taskArgs, this.#host.id, sent, what, undefined, 0);
      outcome = (await this.#piscina.run(
        { task: options.task, args, replyTo },
        options.signal !== undefined ? { signal: options.signal } : {},
      )) as TaskOutcome;
    } catch (err) {
      // The worker may have packed results before it died, or may still be packing them (piscina
      // rejects an aborted task before its worker stops): mark the tag abandoned, then release
      // what is already there. A worker publishing later sees the mark and releases its own. A
      // clone's failure on the way out is ERR_NOT_CLONEABLE; a worker the heap stopped, ERR_HEAP_CLOSED.
      markAbandoned(this.#abandoned, replyTo.tag);
      this.#failed.add(replyTo.tag);
      this.#sweepFailed();
      throw this.#whyStopped(options.task, asNotCloneable(what, err));
    } finally {
      // Transfers the worker adopted are its own now; the rest (task failed, worker died,
      // aborted before start) go back here. Exactly one side wins each (compare-exchange).
      for (const t of sent) core.releaseTransfer(t);
      if (--this.#inFlight === 0) this.#onIdle?.();
    }
    if (!outcome.ok) throw deserializeError(outcome.error);
    // Roots the caller cannot adopt (its root limit) make this throw: every one is released first.
    return unpackRoots(outcome.value, core) as TaskResult<T, K>;
  }

  /**
   * A task's failure from piscina, said in sharedref's terms where the cause is the heap's or the
   * pool's: a worker stopped because the heap closed (or its coordinator died) gives
   * `ERR_HEAP_CLOSED`, one stopped by `pool.close()`/`destroy()` gives `ERR_POOL_CLOSED`. A worker
   * that died on its own (`process.exit`, a crash) or an abort keeps piscina's error.
   */
  #whyStopped(task: string, err: unknown): unknown {
    // piscina's own words for a worker it stopped (close, destroy); any other failure is the task's.
    if ((err as { message?: unknown } | null)?.message !== 'Terminating worker thread') return err;
    if (this.#host.closed) return new HeapClosedError(`pool.run(${JSON.stringify(task)})`);
    if (this.#closing !== null) return new PoolClosedError(`pool.run(${JSON.stringify(task)})`);
    return err;
  }

  /** Releases results of failed tasks still in flight (see `FailedTasks`). */
  #sweepFailed(): void {
    if (!this.#host.closed) this.#failed.sweep(coreOf(this.#host.store));
  }

  /** After every worker stopped: the last sweep, final because nobody can publish any more. */
  #afterStop(): void {
    this.#sweepFailed();
    this.#failed.clear();
    this.#host.removeResource(this);
  }

  /** Workers running now. */
  get threads(): number {
    return this.#piscina.threads.length;
  }

  /** Tasks completed so far. */
  get completed(): number {
    return this.#piscina.completed;
  }

  /** The worker threads (for tests and monitoring; do not terminate them by hand unless testing crashes). */
  get workers(): readonly import('node:worker_threads').Worker[] {
    return this.#piscina.threads;
  }

  /**
   * Lets running tasks finish (up to `closeTimeout` ms, then terminates their workers), then stops
   * every worker. Their stores' counts are released by the coordinator. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#drain()
      .then(() => this.#piscina.destroy())
      .then(() => this.#afterStop());
    return this.#closing;
  }

  /**
   * Waits until every task given to piscina has settled, or `closeTimeout` ms (a referenced timer:
   * the wait keeps the process alive). The pool's own count, not piscina's close: piscina's close
   * failed the other running tasks as soon as one finished (2 of 3 heap-free tasks rejected at
   * about 1 s with a `closeTimeout` of 5 s), and stayed pending for ever when a worker died on its
   * own during it.
   */
  #drain(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.#closeTimeout);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#onIdle = done;
    });
  }

  /** Terminates every worker now; running tasks fail. */
  async destroy(): Promise<void> {
    this.#closing ??= this.#piscina.destroy().then(() => this.#afterStop());
    await this.#closing;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
