/**
 * Type tests: a heap typed by its host module (`Heap.create<typeof host>`) types `newWith` by the
 * module's factories and `call` by the methods of what they build. Compile-only (see expect.ts).
 */
import { ExternRef, Heap, type Rooted, type Store, type TaskContext } from '../../src';
import { exact, value } from './expect';
import type * as host from './host';
import type { HostFile } from './host';

export async function newWithIsTypedByTheFactories(): Promise<void> {
  const heap = await Heap.create<typeof host>({ hostModule: '/abs/host.js' });
  exact<Heap<typeof host>>()(heap);
  exact<Store<typeof host>>()(heap.store);
  exact<Store<typeof host>>()(heap.createStore());
  const f = await ExternRef.newWith(heap.store, 'file', 'out.txt');
  exact<Rooted<HostFile>>()(f);
  exact<Rooted<HostFile>>()(await ExternRef.newWith(heap.store, 'openLater', 'in.txt')); // a promise, awaited
  exact<Rooted<HostFile>>()(ExternRef.newWithSync(heap.store, 'openLater', 'in.txt', 'w'));
  exact<Rooted<Map<string, number>>>()(await ExternRef.newWith(heap.store, 'counter'));
  // @ts-expect-error: not an export of the host module
  await ExternRef.newWith(heap.store, 'socket');
  // @ts-expect-error: an export that is not a function is no factory
  await ExternRef.newWith(heap.store, 'VERSION');
  // @ts-expect-error: file takes a path
  await ExternRef.newWith(heap.store, 'file', 1);
  // @ts-expect-error: and needs one
  await ExternRef.newWith(heap.store, 'file');
  // @ts-expect-error: openLater's mode is 'r' or 'w'
  await ExternRef.newWith(heap.store, 'openLater', 'in.txt', 'x');
  await heap.close();
}

export async function callIsTypedByTheBuiltValuesMethods(): Promise<void> {
  const heap = await Heap.create<typeof host>({ hostModule: '/abs/host.js' });
  const f = await ExternRef.newWith(heap.store, 'file', 'out.txt');
  exact<number>()(await f.call('write', 'Hello'));
  exact<number>()(f.callSync('write', 'Hello'));
  exact<bigint>()(await f.call('size')); // an async method's result, awaited
  exact<void>()(await f.call('close'));
  // A method's result is cloned: a class instance arrives as its public fields.
  exact<{ readonly path: string }>()(await f.call('stat'));
  // @ts-expect-error: write takes a string
  await f.call('write', 1);
  // @ts-expect-error: HostFile has no method read
  await f.call('read');
  // @ts-expect-error: path is a field, not a method
  await f.call('path');
  await heap.close();
}

export function aStoreOfATypedHeapIsAStore(): void {
  const typed = value<Store<typeof host>>();
  const plain: Store = typed; // every API that takes a Store takes it
  ExternRef.new(typed, 1);
  // @ts-expect-error: an untyped store is not one of a typed heap
  const _typed: Store<typeof host> = plain;
}

export async function untypedStoresTakeAnyFactory(): Promise<void> {
  const heap = await Heap.create({ hostModule: '/abs/host.js' });
  exact<Rooted<unknown>>()(await ExternRef.newWith(heap.store, 'anything', 1, 'two'));
  const r = await ExternRef.newWith(heap.store, 'file', 'out.txt');
  exact<unknown>()(await r.call('anything', 1));
  if (r.is(value<typeof HostFile>())) exact<number>()(await r.call('write', 'x')); // narrowed, checked by name
  await heap.close();
}

export function aTaskDeclaresTheHostModuleItExpects(ctx: TaskContext<typeof host>): Promise<Rooted<HostFile>> {
  return ExternRef.newWith(ctx.store, 'file', 'out.txt');
}
