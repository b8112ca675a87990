/**
 * Type tests: `heap.createPool<typeof tasks>` checks `pool.run(name, …args)` against the worker
 * file's `defineTasks` and types its result, roots as roots. Compile-only (see expect.ts).
 */
import { ExternRef, Heap, type ManuallyRooted, type Pool, type Rooted } from '../../src';
import { exact } from './expect';
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
