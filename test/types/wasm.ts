/**
 * Type tests: typed calls into the guest are typed by their literal signature; tables and globals
 * take roots of any type and give roots of `unknown` (the guest may put anything there).
 * Compile-only (see expect.ts).
 */
import {
  ExternRef,
  Global,
  type Instance,
  type RootBase,
  type Rooted,
  type Signature,
  type Store,
  Table,
  type WasmFunction,
} from '../../src';
import { exact, value } from './expect';

const store = value<Store>();
const instance = value<Instance>();

export function getTypedFuncIsTypedBySignature(): void {
  const run = instance.getTypedFunc('run', { params: ['externref', 'handle', 'i32'], results: ['externref'] });
  exact<(a: RootBase | null, b: RootBase | null, c: number) => Rooted | null>()(run);
  const text = ExternRef.new(store, 'text');
  exact<Rooted | null>()(run(text, text.toManuallyRooted(), 1));
  run(null, null, 0);
  // @ts-expect-error: a number is no reference
  run(1, text, 1);
  // @ts-expect-error: three arguments
  run(text, text);
  exact<() => void>()(instance.getTypedFunc('start', { params: [], results: [] }));
  exact<(a: bigint | number) => [bigint, number, WasmFunction | null]>()(
    instance.getTypedFunc('split', { params: ['i64'], results: ['i64', 'f64', 'funcref'] }),
  );
  // A signature that is no literal: the call is untyped, as before.
  const sig: Signature = { params: ['i32'], results: [] };
  exact<(...args: unknown[]) => unknown>()(instance.getTypedFunc('f', sig));
  // @ts-expect-error: no such value type
  instance.getTypedFunc('f', { params: ['i128'], results: [] });
}

export function tablesAndGlobalsTakeAnyRootAndGiveUnknown(): void {
  const table = new Table(store, { element: 'externref', initial: 1 });
  table.set(0, ExternRef.new(store, 'text'));
  table.set(0, ExternRef.newManuallyRooted(store, new Map<string, number>()).toRooted());
  exact<Rooted | null>()(table.get(0));
  const global = new Global(store, { value: 'externref', mutable: true }, ExternRef.new(store, 1));
  exact<Rooted | null>()(global.get());
  const r = global.get();
  if (r?.is(Number)) exact<number>()(r.dataSync());
  // @ts-expect-error: a table of externref takes roots, not values
  table.set(0, 'text');
}
