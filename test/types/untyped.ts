/**
 * Type tests: the defaults (`unknown`) keep untyped code as it compiled before the generics: any
 * factory, method and task name, `unknown` results, and roots annotated without a type.
 * Compile-only (see expect.ts).
 */
import { ExternRef, Heap, Linker, type ManuallyRooted, type Rooted, type Signature, type Store } from '../../src';
import { exact } from './expect';

export async function untypedCodeCompilesAsBefore(): Promise<void> {
  const heap = await Heap.create();
  exact<Heap<unknown>>()(heap);
  exact<Store<unknown>>()(heap.store);
  const r: Rooted = await ExternRef.newWith(heap.store, 'file', 'out.txt');
  exact<unknown>()(await r.call('write', 'text'));
  exact<unknown>()(r.callSync('anything'));
  // @ts-expect-error: but a method name is a string, as the run-time check says
  await r.call(1);
  exact<unknown>()(await r.data());
  exact<number>()(await r.dataMut<number>((n) => n + 1)); // the value's type, asserted
  const m: ManuallyRooted | null = ExternRef.fromRawManuallyRooted(heap.store, r.toRaw());
  m?.unroot();
  const any: Rooted = ExternRef.new(heap.store, { n: 1 }); // a typed root goes where an untyped one does
  exact<Rooted<unknown> | null>()(ExternRef.fromRaw(heap.store, any.toRaw()));
  // Under a signature that is no literal, host functions declare their arguments' types themselves, unchecked.
  const concat: Signature = { params: ['externref', 'externref'], results: ['externref'] };
  new Linker(heap.store).funcWrap('host', 'concat', concat, (caller, a: Rooted, b: Rooted) =>
    ExternRef.new(caller.store, String(a.dataSync()) + String(b.dataSync())),
  );
  const pool = heap.createPool({ filename: '/abs/tasks.js' });
  exact<unknown>()(await pool.run('concat', r, any));
  await heap.close();
}
