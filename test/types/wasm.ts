/**
 * Type tests: typed calls into the guest are typed by their literal signature; tables and globals
 * take roots of any type and give roots of `unknown` (the guest may put anything there).
 * Compile-only (see expect.ts).
 */
import {
  ExternRef,
  Global,
  type Caller,
  type Instance,
  Linker,
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

export function funcWrapTypesItsCallbackBySignature(): void {
  const linker = new Linker(store);
  linker.funcWrap('host', 'tag', { params: ['handle', 'i32'], results: ['handle'] }, (caller, r, n) => {
    exact<Caller>()(caller);
    exact<Rooted | null>()(r); // a borrowed root, or null for handle 0
    exact<number>()(n);
    return r === null ? null : ExternRef.new(caller.store, `${String(r.dataSync())}:${n}`);
  });
  linker.funcWrap(
    'host',
    'wide',
    { params: ['externref', 'i64', 'f64', 'funcref'], results: ['i64', 'externref'] },
    (_c, r, big, f, fn) => {
      exact<Rooted | null>()(r);
      exact<bigint>()(big);
      exact<number>()(f);
      exact<WasmFunction | null>()(fn);
      return [big + 1n, r];
    },
  );
  linker.funcWrap('host', 'none', { params: [], results: [] }, () => undefined);
  linker.funcWrap('host', 'i64', { params: [], results: ['i64'] }, () => 1); // a number converts, as in a typed call
  // @ts-expect-error: an externref may be null: annotate Rooted | null
  linker.funcWrap('host', 'a', { params: ['externref'], results: [] }, (_c, _r: Rooted) => undefined);
  // @ts-expect-error: an i32 arrives as a number
  linker.funcWrap('host', 'b', { params: ['i32'], results: [] }, (_c, _s: string) => undefined);
  // @ts-expect-error: an i64 arrives as a bigint
  linker.funcWrap('host', 'c', { params: ['i64'], results: [] }, (_c, _n: number) => undefined);
  // @ts-expect-error: a handle result is a root, not a value
  linker.funcWrap('host', 'd', { params: [], results: ['handle'] }, () => 'text');
  // @ts-expect-error: an i32 result is a number
  linker.funcWrap('host', 'e', { params: [], results: ['i32'] }, () => 'text');
  // @ts-expect-error: two results are an array of two
  linker.funcWrap('host', 'f', { params: [], results: ['i32', 'i32'] }, () => 1);
  // @ts-expect-error: host functions are synchronous
  linker.funcWrap('host', 'g', { params: [], results: ['i32'] }, async () => 1);
  // @ts-expect-error: one parameter too many
  linker.funcWrap('host', 'h', { params: ['i32'], results: [] }, (_c, _a: number, _b: number) => undefined);
  // A signature that is no literal: the callback is untyped, its annotations unchecked, as before.
  const sig: Signature = { params: ['externref'], results: ['i32'] };
  linker.funcWrap('host', 'u', sig, (_c, r: Rooted) => String(r.dataSync()).length);
}
