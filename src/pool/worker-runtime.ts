/**
 * The pool worker's side: attaching the thread's store, loading the user's tasks, running them.
 *
 * A pool worker thread only. At start-up the worker claims a store region in shared memory,
 * makes its three port pairs, keeps the store's ends and sends the coordinator's ends to the pool
 * through `parentPort` (piscina gives every worker the same `workerData`, so ports cannot come
 * that way). The store is usable at once: messages wait in its ports until the coordinator takes
 * them. When the thread dies, the coordinator sees the control port close and releases every count
 * the store held (I4).
 *
 * Each task runs in its own root scope. Roots in its arguments are adopted into that scope as
 * `Rooted` (a manual root sent by the caller arrives scoped too: a task keeps one past its end with
 * `toManuallyRooted()`). Roots in its result travel back before the scope ends, each with its
 * kind: a returned `ManuallyRooted` gives the caller a new manual root to unroot.
 */
import { MessageChannel, parentPort, threadId, workerData } from 'node:worker_threads';
import { NoSuchTaskError, NotCloneableError, StoreLimitError, serializeError } from '../errors';
import { layoutOf } from '../shared/layout';
import { claimRegion } from '../shared/root-region';
import type { TransferToken } from '../shared/transfer-table';
import { Store } from '../store/store';
import { coreOf } from '../store/internal';
import { isAbandoned } from '../shared/abandoned-tags';
import { isBareTask } from '../internal/bench-hooks';
import { type AttachMessage, type PoolWorkerData, type TaskMessage, type TaskOutcome } from './protocol';
import type { CheckedTasks } from './task-types';
import { packRoots, unpackRoots } from './transfer';

/**
 * What every task receives first. `H` is the heap's host module type, for tasks that build values
 * in place: `ctx: TaskContext<typeof import('./host.js')>` types `ExternRef.newWith(ctx.store, …)`.
 */
export interface TaskContext<H = unknown> {
  /** This worker's store. */
  readonly store: Store<H>;
  /** The `workerData` given to `heap.createPool`. */
  readonly workerData: unknown;
  /** This worker's thread id. */
  readonly threadId: number;
}

/**
 * A task: receives the context and the (adopted) arguments; may return roots. Its context is
 * `TaskContext<any>` so that a task may declare the host module type it expects (`TaskContext<H>`),
 * and an untyped one stays untyped.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above: `unknown` would refuse TaskContext<H>
export type Task = (ctx: TaskContext<any>, ...args: never[]) => unknown;

const kTasks = Symbol.for('sharedref.tasks');

/** The value a task module exports: made by `defineTasks`. */
export interface TaskTable {
  /** The tasks by name, under a registered symbol that the pool worker looks for. */
  readonly [kTasks]: Readonly<Record<string, Task>>;
}

/**
 * Declares the tasks of a pool worker file: `module.exports = defineTasks({ name(ctx, ...args) {…} })`.
 * Each task runs in its own root scope on the worker's store (`ctx.store`), and receives every root
 * in its arguments as a `Rooted` of that scope, whichever kind the caller sent: in TypeScript a
 * task that declares a `ManuallyRooted` parameter (at any depth) does not compile, nor one that
 * declares what no structured clone carries, such as a callback, as a parameter or in its result
 * (`CheckedTasks`).
 */
export function defineTasks<T extends Record<string, Task>>(
  tasks: T & CheckedTasks<T>,
): TaskTable & {
  /** The task functions, as given. */
  readonly tasks: T;
} {
  if (typeof tasks !== 'object' || tasks === null)
    throw new TypeError('defineTasks: expected an object of task functions');
  for (const [name, fn] of Object.entries(tasks)) {
    if (typeof fn !== 'function')
      throw new TypeError(`defineTasks: task ${JSON.stringify(name)} must be a function, received ${typeof fn}`);
  }
  return { [kTasks]: Object.freeze({ ...tasks }), tasks };
}

/** @internal Attaches this worker's store and returns piscina's task handler. */
export function startPoolWorker(): (msg: TaskMessage) => unknown {
  const data = workerData as PoolWorkerData;
  const { memory, heapId, options, filename, abandoned } = data.sharedref;
  const i32 = new Int32Array(memory.buffer);
  const storeId = claimRegion(i32, layoutOf(i32));
  if (storeId === 0) {
    throw new StoreLimitError('pool worker', options.maxStores);
  }
  const control = new MessageChannel();
  const reply = new MessageChannel();
  const rpc = new MessageChannel();
  const attach: AttachMessage = {
    sharedrefAttach: { storeId, ports: { control: control.port1, reply: reply.port1, rpc: rpc.port1 } },
  };
  parentPort!.postMessage(attach, [control.port1, reply.port1, rpc.port1]);
  const store = new Store({
    memory,
    heapId,
    storeId,
    options,
    ports: { control: control.port2, reply: reply.port2, rpc: rpc.port2 },
  });
  const core = coreOf(store);
  const ctx: TaskContext = Object.freeze({ store, workerData: data.user, threadId });

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(filename) as Partial<TaskTable> & { default?: Partial<TaskTable> };
  const table = loaded[kTasks] ?? loaded.default?.[kTasks];
  if (table === undefined) {
    throw new TypeError(`pool worker: ${filename} must export defineTasks({...}) (module.exports = defineTasks(...))`);
  }

  const runTask = (msg: TaskMessage): Promise<TaskOutcome> =>
    store.scope(async (): Promise<TaskOutcome> => {
      const sent: TransferToken[] = [];
      try {
        // Only the table's own tasks: names every object inherits are not tasks.
        const fn = typeof msg.task === 'string' && Object.hasOwn(table, msg.task) ? table[msg.task] : undefined;
        if (typeof fn !== 'function') {
          throw new NoSuchTaskError(msg.task, `${filename} defines: ${Object.keys(table).join(', ')}`);
        }
        const args = unpackRoots(msg.args, core, true) as never[];
        const result = await fn(ctx, ...args);
        // Owned by the caller, tagged with the task: if this thread dies after posting the
        // result, the caller still adopts it; if it dies before, the caller releases by tag.
        const what = `the result of task ${JSON.stringify(msg.task)}`;
        const value = packRoots(result, heapId, sent, what, msg.replyTo);
        // What piscina cannot post would kill this worker: refused here, with its name.
        if (typeof value.value === 'object' && value.value !== null) {
          try {
            structuredClone(value.value);
          } catch (err) {
            throw new NotCloneableError(`the result of task ${JSON.stringify(msg.task)}`, err);
          }
        }
        if (isAbandoned(abandoned, msg.replyTo.tag)) {
          for (const t of sent) core.releaseTransfer(t); // the caller gave up on this task
        }
        return { ok: true, value };
      } catch (err) {
        for (const t of sent) core.releaseTransfer(t);
        return { ok: false, error: serializeError(err) };
      }
    });
  // A scope cannot open once the heap has closed: that is the task's outcome too, with its code
  // (thrown out of here, piscina would pass it on as a plain Error).
  const runOrRefuse = (msg: TaskMessage): Promise<TaskOutcome> => {
    try {
      return runTask(msg);
    } catch (err) {
      return Promise.resolve({ ok: false, error: serializeError(err) });
    }
  };
  return (msg: TaskMessage) => (isBareTask(msg) ? msg.bare : runOrRefuse(msg));
}
