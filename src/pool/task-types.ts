/**
 * The types of typed tasks: `heap.createPool<typeof tasks>(…)` checks `pool.run(name, …args)`
 * against the worker file's `defineTasks({…})` and types its result. Types only: this module has
 * no code at run time; the worker still refuses an unknown task name (`ERR_NO_SUCH_TASK`).
 *
 * `T` may be the value `defineTasks` returned (`typeof tasks`), or the worker module itself
 * (`typeof import('./tasks.js')`), whether it sets `module.exports` / `export =` or its default
 * export. `unknown`, the default, allows any name and arguments and gives `unknown` results.
 *
 * What a task receives is what the pool delivers (src/pool/transfer.ts, worker-runtime.ts): its
 * arguments as the caller sent them, structured-cloned, except that every root (at the top, or at
 * any depth inside arrays, plain objects, Map keys and values, and Sets) arrives as a `Rooted` of
 * the task's scope, whichever kind was sent. So a task declares `Rooted<X>` (or `RootBase<X>`),
 * never `ManuallyRooted<X>`: it would have no `unroot` or `intoRaw` at run time, and
 * `defineTasks` refuses the declaration (`CheckedTasks`). Where it declares `Rooted<X>`, at any of
 * those depths, the caller may send a `Rooted<X>` or a `ManuallyRooted<X>` (`TaskArg`). A task
 * keeps a root past its end with `toManuallyRooted()`. A task's result comes back cloned, with its
 * roots as roots of the same kind (`Cloned<R>`).
 *
 * Rejected: delivering a root sent as a `ManuallyRooted` as one, which would have made such a
 * declaration true. A task's arguments belong to its scope, so a task that forgets one leaks
 * nothing; a manual root it forgot would hold its object until the worker's store closed.
 */
import type { ManuallyRooted, RootBase, Rooted } from '../store/roots';
import type {
  AnyFunction,
  Cloned,
  IsUntyped,
  KeptByClone,
  NotCloneableValue,
  Primitive,
  Uncloneable,
} from '../store/types';

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

/**
 * What the pool passes as it is, without looking inside for roots: primitives, functions and
 * symbols (refused as they are sent), builtins a clone keeps, and shared memories.
 */
type Opaque = Primitive | AnyFunction | symbol | KeptByClone | WebAssembly.Memory;

/**
 * What a caller may send where a task declares a parameter of type `P`: `P`, except that wherever
 * `P` holds a `Rooted<X>` (at the top, in arrays and tuples, in plain objects' properties, in
 * Maps' keys and values, in Sets, at any depth, as the pool looks for roots) a
 * `ManuallyRooted<X>` may go too, since every root arrives as a `Rooted`.
 */
export type TaskArg<P> =
  IsUntyped<P> extends true
    ? P
    : P extends Rooted<infer X>
      ? Rooted<X> | ManuallyRooted<X>
      : P extends RootBase<unknown> | Opaque
        ? P
        : P extends ReadonlyMap<infer K, infer V>
          ? P extends Map<K, V>
            ? Map<TaskArg<K>, TaskArg<V>>
            : ReadonlyMap<TaskArg<K>, TaskArg<V>>
          : P extends ReadonlySet<infer V>
            ? P extends Set<V>
              ? Set<TaskArg<V>>
              : ReadonlySet<TaskArg<V>>
            : { [K in keyof P]: TaskArg<P[K]> }; // arrays and tuples stay arrays and tuples

/** How deep `DeclaresManual` looks: far deeper than a parameter's type goes, short of a recursive type's end. */
type MaxDepth = 8;

/**
 * Whether a task's parameter type `P` declares a `ManuallyRooted` where the pool delivers roots
 * (see `TaskArg` for where): `true` (or `boolean`) if it does.
 */
type DeclaresManual<P, Depth extends unknown[] = []> = Depth['length'] extends MaxDepth
  ? false
  : IsUntyped<P> extends true
    ? false
    : P extends ManuallyRooted<unknown>
      ? true
      : P extends RootBase<unknown> | Opaque
        ? false
        : P extends ReadonlyMap<infer K, infer V>
          ? DeclaresManual<K, [...Depth, P]> | DeclaresManual<V, [...Depth, P]>
          : P extends ReadonlySet<infer V>
            ? DeclaresManual<V, [...Depth, P]>
            : P extends readonly unknown[]
              ? DeclaresManual<P[number], [...Depth, P]>
              : { [K in keyof P]-?: DeclaresManual<P[K], [...Depth, P]> }[keyof P];

/**
 * What `defineTasks` finds wrong with a task that declares a `ManuallyRooted` parameter: a type no
 * function matches, whose one property says why.
 */
export interface ManualRootParameter {
  /** The reason, as the compiler's error shows it. */
  readonly 'a task receives every root as a Rooted of its scope: declare Rooted<X>, not ManuallyRooted<X>': never;
}

/**
 * What `defineTasks` finds wrong with a task whose declared result no structured clone carries: a
 * type no function matches, whose one property says why.
 */
export interface NotCloneableResult {
  /** The reason, as the compiler's error shows it. */
  readonly "a task's result is cloned: no functions, symbols, promises or weak collections (ERR_NOT_CLONEABLE)": never;
}

/**
 * What `defineTasks(tasks)` checks besides `Task`, for each task's parameters after its context
 * and its result. A parameter that declares a `ManuallyRooted`, at any depth the pool delivers
 * roots, makes the task a `ManualRootParameter`; one that declares what no structured clone
 * carries (a function, a symbol: see `Cloneable`) a `NotCloneableValue`; a result (awaited, as the
 * worker awaits it) that no clone carries a `NotCloneableResult`. No task is any of these, so its
 * name is refused. Roots in a result travel as roots.
 */
export type CheckedTasks<T> = {
  readonly [K in keyof T]: T[K] extends (ctx: never, ...args: infer A) => infer R
    ? true extends DeclaresManual<A>
      ? ManualRootParameter
      : true extends Uncloneable<A>
        ? NotCloneableValue
        : true extends Uncloneable<Awaited<R>>
          ? NotCloneableResult
          : unknown
    : unknown;
};

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
