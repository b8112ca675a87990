/**
 * Type tests: a heap typed by its host module (`Heap.create<typeof host>`) types `newWith` by the
 * module's factories and `call` by the methods of what they build. Compile-only (see expect.ts).
 */
import {
  ExternRef,
  Heap,
  type InPlace,
  type ManuallyRooted,
  type Rooted,
  type Store,
  type TaskContext,
} from '../../src';
import { exact, value } from './expect';
import type * as host from './host';
import type { HostFile } from './host';

export async function newWithIsTypedByTheFactories(): Promise<void> {
  const heap = await Heap.create<typeof host>({ hostModule: '/abs/host.js' });
  exact<Heap<typeof host>>()(heap);
  exact<Store<typeof host>>()(heap.store);
  exact<Store<typeof host>>()(heap.createStore());
  const f = await ExternRef.newWith(heap.store, 'file', 'out.txt');
  exact<Rooted<InPlace<HostFile>>>()(f);
  exact<Rooted<InPlace<HostFile>>>()(await ExternRef.newWith(heap.store, 'openLater', 'in.txt')); // a promise, awaited
  exact<Rooted<InPlace<HostFile>>>()(ExternRef.newWithSync(heap.store, 'openLater', 'in.txt', 'w'));
  exact<Rooted<InPlace<Map<string, number>>>>()(await ExternRef.newWith(heap.store, 'counter'));
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

export function aTaskDeclaresTheHostModuleItExpects(ctx: TaskContext<typeof host>): Promise<Rooted<InPlace<HostFile>>> {
  return ExternRef.newWith(ctx.store, 'file', 'out.txt');
}

export async function aValueBuiltInPlaceIsUsedThroughCallNotAsData(): Promise<void> {
  const heap = await Heap.create<typeof host>({ hostModule: '/abs/host.js' });
  const f = await ExternRef.newWith(heap.store, 'file', 'out.txt');
  // Everything but the data methods works as on any root.
  exact<number>()(await f.call('write', 'Hello'));
  exact<number>()(f.callSync('write', 'Hello'));
  exact<number>()(f.toRaw());
  exact<string>()(f.typeOf());
  exact<boolean>()(f.is(value<typeof HostFile>()));
  exact<number>()(f.strongCount());
  const m = f.toManuallyRooted();
  exact<ManuallyRooted<InPlace<HostFile>>>()(m);
  m.unroot();
  const any: Rooted = f; // and it goes where any root does
  exact<unknown>()(any.dataSync()); // untyped: unchecked, as fromRaw's are
  // @ts-expect-error: a value built in place is no data (ERR_NOT_CLONEABLE at run time)
  await f.data();
  // @ts-expect-error: nor synchronously
  f.dataSync();
  // @ts-expect-error: nor mutated as data
  await f.dataMut(() => undefined);
  // @ts-expect-error: nor synchronously
  f.dataMutSync(() => undefined);
  // @ts-expect-error: nor through a manual root of it
  m.dataSync();
  // Even a factory that returns a plain object builds in place.
  const p = ExternRef.newWithSync(value<Store<{ plain(): { n: number } }>>(), 'plain');
  // @ts-expect-error: its value is not data either
  p.dataSync();
  // A root of the same value type made by new is data.
  exact<{ n: number }>()(ExternRef.new(heap.store, { n: 1 }).dataSync());
  // @ts-expect-error: roots are invariant: an in-place root is no root of the plain type
  const _plain: Rooted<{ n: number }> = p;
  await heap.close();
}
