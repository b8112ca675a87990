/**
 * Type tests: `heap.createPool<typeof tasks>` checks `pool.run(name, …args)` against the worker
 * file's `defineTasks` and types its result, roots as roots. Compile-only (see expect.ts).
 */
import {
  defineTasks,
  ExternRef,
  Heap,
  type ManuallyRooted,
  type Pool,
  type RootBase,
  type Rooted,
  type TaskContext,
} from '../../src';
import { exact } from './expect';
import type * as host from './host';
import type tasks from './tasks';

export async function runIsTypedByTheTasks(): Promise<void> {
  const heap = await Heap.create();
  const pool = heap.createPool<typeof tasks>({ filename: '/abs/tasks.js' });
  exact<Pool<typeof tasks>>()(pool);
  const a = ExternRef.new(heap.store, 'Hello, ');
  const b = ExternRef.new(heap.store, 'World!');
  exact<Rooted<string>>()(await pool.run('concat', a, b));
  // A manual root may go where a task takes a Rooted: every root arrives scoped.
  exact<Rooted<string>>()(await pool.run('concat', a, b.toManuallyRooted()));
  exact<number>()(await pool.run('count', [a, b]));
  exact<number>()(await pool.run('count', [a, b], 1));
  // Roots inside a result keep their kind; the rest is cloned.
  exact<{ kept: ManuallyRooted<string>; at: Date }>()(await pool.run('keep', 'text'));
  exact<'pong'>()(await pool.run('ping'));
  exact<Rooted<string>>()(await pool.runTask({ task: 'concat', args: [a, b] }));
  exact<'pong'>()(await pool.runTask({ task: 'ping', signal: AbortSignal.timeout(1000) }));
  // @ts-expect-error: no such task
  await pool.run('concatenate', a, b);
  // @ts-expect-error: concat takes roots of strings
  await pool.run('concat', a, ExternRef.new(heap.store, 1));
  // @ts-expect-error: and two of them
  await pool.run('concat', a);
  // @ts-expect-error: not a plain string either
  await pool.run('concat', 'Hello, ', 'World!');
  // @ts-expect-error: runTask needs the arguments of a task that takes some
  await pool.runTask({ task: 'concat' });
  // @ts-expect-error: and checks them
  await pool.runTask({ task: 'keep', args: [1] });
  await heap.close();
}

export async function rootsInsideArgumentsMayBeEitherKind(): Promise<void> {
  const heap = await Heap.create();
  const pool = heap.createPool<typeof tasks>({ filename: '/abs/tasks.js' });
  const session = ExternRef.new(heap.store, { id: 's', hits: 0 });
  const n = ExternRef.new(heap.store, 1);
  const s = ExternRef.new(heap.store, 'x');
  // Wherever a task declares Rooted<X>, at any depth the pool walks, either kind may be sent.
  exact<string>()(await pool.run('visit', { session, at: new Date() }));
  exact<string>()(await pool.run('visit', { session: session.toManuallyRooted(), at: new Date() }, {}));
  exact<string>()(await pool.run('visit', { session, at: new Date() }, { note: s.toManuallyRooted() }));
  exact<number>()(
    await pool.run(
      'nested',
      [
        { name: 'a', root: n.toManuallyRooted() },
        { name: 'b', root: n },
      ],
      { a: { b: [s.toManuallyRooted(), 2] } },
      new Map([['k', n.toManuallyRooted()]]),
      new Set([s, s.toManuallyRooted()]),
      new Map([[s.toManuallyRooted(), { at: new Date() }]]),
    ),
  );
  exact<string>()(await pool.run('base', s.toManuallyRooted()));
  // @ts-expect-error: the root inside must still be of the declared type
  await pool.run('visit', { session: n, at: new Date() });
  // @ts-expect-error: and not a plain value
  await pool.run('visit', { session: { id: 's', hits: 0 }, at: new Date() });
  // @ts-expect-error: nor a root of another type in a Map's values
  await pool.run('nested', [], { a: { b: [s, 2] } }, new Map([['k', s]]), new Set([s]), new Map());
  // @ts-expect-error: nor in a tuple
  await pool.run('nested', [], { a: { b: [n, 2] } }, new Map(), new Set([s]), new Map());
  await heap.close();
}

export function aTaskDeclaresOnlyWhatArrives(): void {
  defineTasks({
    // @ts-expect-error: a task receives every root as a Rooted (intoRaw and unroot are not there)
    keep(_ctx: TaskContext, m: ManuallyRooted<string>): number {
      return m.intoRaw();
    },
  });
  defineTasks({
    // @ts-expect-error: not inside an object either
    keep(_ctx: TaskContext, holder: { m: ManuallyRooted<string> }): void {
      holder.m.unroot();
    },
  });
  defineTasks({
    // @ts-expect-error: nor in an array of objects
    keep(_ctx: TaskContext, list: { m: ManuallyRooted<string> }[], map: Map<string, Rooted>): void {
      list.length = map.size;
    },
  });
  defineTasks({
    // @ts-expect-error: nor in a Map's values
    keep(_ctx: TaskContext, map: ReadonlyMap<string, { m: ManuallyRooted }>): void {
      map.forEach((v) => v.m.unroot());
    },
  });
  defineTasks({
    // @ts-expect-error: nor in a Set
    keep(_ctx: TaskContext, set: Set<ManuallyRooted>): void {
      set.clear();
    },
  });
  defineTasks({
    // @ts-expect-error: nor as one kind of two (it is never one)
    keep(_ctx: TaskContext, r?: Rooted<string> | ManuallyRooted<string>): void {
      r?.toRaw();
    },
  });
  defineTasks({
    // @ts-expect-error: nor anything a clone cannot carry: no caller could send it
    each(_ctx: TaskContext, items: string[], fn: (item: string) => void): void {
      items.forEach(fn);
    },
  });
  // Nor a result a clone cannot carry: the worker would fail it with ERR_NOT_CLONEABLE.
  defineTasks({
    // @ts-expect-error: a function
    make(): () => number {
      return () => 1;
    },
  });
  defineTasks({
    // @ts-expect-error: a promise of a function, awaited
    async later(): Promise<(n: number) => number> {
      return (n) => n;
    },
  });
  defineTasks({
    // @ts-expect-error: a symbol inside a plain object
    tagged(): { tag: symbol; n: number } {
      return { tag: Symbol('t'), n: 1 };
    },
  });
  defineTasks({
    // @ts-expect-error: a weak collection in an array
    weak(): WeakMap<object, number>[] {
      return [];
    },
  });
  // Results a clone carries: data, builtins, roots at any depth, nothing at all.
  const results = defineTasks({
    data: async (): Promise<{ at: Date; list: Map<string, number[]> }> => ({ at: new Date(), list: new Map() }),
    root: (ctx: TaskContext): { r: Rooted<string> } => ({ r: ExternRef.new(ctx.store, 'x') }),
    nothing(): void {},
  });
  exact<number>()(results.tasks.nothing.length);
  // What arrives: Rooted, or RootBase; a task keeps one with toManuallyRooted().
  const ok = defineTasks({
    keep(_ctx: TaskContext, r: Rooted<string>, any: RootBase, holder: { list: Rooted<number>[] }): number {
      r.toManuallyRooted();
      return any.toRaw() + holder.list.length;
    },
  });
  exact<number>()(ok.tasks.keep.length);
}

export async function theWorkerModuleTypesThePoolToo(): Promise<void> {
  const heap = await Heap.create();
  const pool = heap.createPool<typeof import('./tasks')>({ filename: '/abs/tasks.js' });
  exact<Rooted<string>>()(await pool.run('concat', ExternRef.new(heap.store, 'a'), ExternRef.new(heap.store, 'b')));
  // An ES module worker file: the table is its default export.
  const esm = heap.createPool<{ default: typeof tasks }>({ filename: '/abs/tasks.mjs' });
  exact<'pong'>()(await esm.run('ping'));
  await heap.close();
}

export async function untypedPoolsTakeAnyTask(): Promise<void> {
  const heap = await Heap.create();
  const pool = heap.createPool({ filename: '/abs/tasks.js' });
  exact<Pool<unknown>>()(pool);
  exact<unknown>()(await pool.run('anything', 1, 'two', ExternRef.new(heap.store, 3)));
  exact<unknown>()(await pool.runTask({ task: 'anything' }));
  await heap.close();
}

export async function aRootBuiltInPlaceGoesWhereATaskDeclaresOne(): Promise<void> {
  const heap = await Heap.create<typeof host>({ hostModule: '/abs/host.js' });
  const pool = heap.createPool<typeof tasks>({ filename: '/abs/tasks.js' });
  const f = await ExternRef.newWith(heap.store, 'file', 'out.txt');
  exact<number>()(await pool.run('write', f, 'Hello'));
  exact<number>()(await pool.run('write', f.toManuallyRooted(), 'Hello'));
  // @ts-expect-error: a root of data made by new is no value built in place
  await pool.run('write', ExternRef.new(heap.store, { path: 'out.txt' }), 'Hello');
  await heap.close();
}
