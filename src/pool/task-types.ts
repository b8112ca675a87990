/**
 * The types of typed tasks: `heap.createPool<typeof tasks>(…)` checks `pool.run(name, …args)`
 * against the worker file's `defineTasks({…})` and types its result. Types only: this module has
 * no code at run time; the worker still refuses an unknown task name (`ERR_NO_SUCH_TASK`).
 *
 * `T` may be the value `defineTasks` returned (`typeof tasks`), or the worker module itself
 * (`typeof import('./tasks.js')`), whether it sets `module.exports` / `export =` or its default
 * export. `unknown`, the default, allows any name and arguments and gives `unknown` results.
 *
 * A task receives its arguments as the caller sent them, except that every root arrives as a
 * `Rooted` of the worker's scope: so where a task declares `Rooted<X>`, the caller may pass a
 * `Rooted<X>` or a `ManuallyRooted<X>`. A task's result comes back cloned, with its roots as roots
 * of the same kind (`Cloned<R>`).
 */
import type { ManuallyRooted, Rooted } from '../store/roots';
import type { Cloned, IsUntyped } from '../store/types';

/** The task functions of `T` (see the module doc for what `T` may be). */
export type TasksOf<T> = T extends { readonly tasks: infer X }
  ? X
  : T extends { readonly default: { readonly tasks: infer X } }
    ? X
    : T;

type TaskFn = (ctx: never, ...args: never[]) => unknown;

/** The task names of `T`; any string when untyped. */
export type TaskName<T> =
  IsUntyped<T> extends true
    ? string
    : { [K in Extract<keyof TasksOf<T>, string>]-?: TasksOf<T>[K] extends TaskFn ? K : never }[Extract<
        keyof TasksOf<T>,
        string
      >];

/** What a caller may send where a task declares a parameter of type `P`. */
export type TaskArg<P> =
  P extends Rooted<infer X>
    ? Rooted<X> | ManuallyRooted<X>
    : P extends readonly unknown[]
      ? { [I in keyof P]: TaskArg<P[I]> }
      : P;

/** The arguments of task `K` of `T`, after its context. */
export type TaskArgs<T, K> =
  IsUntyped<T> extends true
    ? unknown[]
    : K extends keyof TasksOf<T>
      ? TasksOf<T>[K] extends (ctx: never, ...args: infer A) => unknown
        ? TaskArg<A>
        : never
      : never;

/** What `pool.run(K, …)` resolves with: the task's result, awaited and cloned, roots kept as roots. */
export type TaskResult<T, K> =
  IsUntyped<T> extends true
    ? unknown
    : K extends keyof TasksOf<T>
      ? TasksOf<T>[K] extends (...args: never[]) => infer R
        ? Cloned<Awaited<R>>
        : never
      : never;
