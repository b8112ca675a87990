/**
 * Type tests: roots carry their value's type (`Rooted<T>`, `ManuallyRooted<T>`), from
 * `ExternRef.new` through reads, mutations, method calls and conversions. Compile-only (see
 * expect.ts).
 */
import { ExternRef, type ManuallyRooted, type RootBase, type Rooted, type Store } from '../../src';
import { exact, value } from './expect';

const store = value<Store>();

interface Session {
  id: string;
  hits: number;
  tags?: string[];
}

export async function newInfersTheValuesType(): Promise<void> {
  const s = ExternRef.new(store, { id: 'a', hits: 0 } as Session);
  exact<Rooted<Session>>()(s);
  exact<Session>()(s.dataSync());
  exact<Session>()(await s.data());
  exact<Rooted<string>>()(ExternRef.new(store, 'text'));
  exact<Rooted<number[]>>()(ExternRef.new(store, [1, 2]));
  exact<Rooted<Map<string, Date>>>()(ExternRef.new(store, new Map<string, Date>()));
  exact<ManuallyRooted<Session>>()(ExternRef.newManuallyRooted<Session>(store, { id: 'b', hits: 1 }));
  // @ts-expect-error: the value is not a Session
  ExternRef.new<Session>(store, { id: 1 });
}

export function conversionsKeepTheType(): void {
  const r = ExternRef.new(store, 'text');
  const m = r.toManuallyRooted();
  exact<ManuallyRooted<string>>()(m);
  exact<ManuallyRooted<string>>()(m.clone());
  exact<Rooted<string>>()(m.toRooted());
  exact<number>()(m.intoRaw());
}

export async function dataMutKeepsTheType(): Promise<void> {
  const n = ExternRef.new(store, 1);
  exact<number>()(await n.dataMut((v) => v + 1));
  exact<number>()(n.dataMutSync((v) => v * 2));
  const s = ExternRef.new(store, { id: 'a', hits: 0 } as Session);
  exact<Session>()(
    await s.dataMut((v) => {
      v.hits++; // changed in place: returning nothing commits the changed copy
    }),
  );
  exact<Session>()(await s.dataMut(async (v) => ({ ...v, hits: v.hits + 1 })));
  // @ts-expect-error: a commit cannot change the root's type (a new type is a new object)
  await n.dataMut((v) => String(v));
  // @ts-expect-error: the same, synchronously
  n.dataMutSync(() => new Map());
  // @ts-expect-error: dataMutSync takes no async function
  n.dataMutSync(async (v) => v);
  // A narrower type of the value is an unchecked assertion, as fromRaw<T> is:
  const u = ExternRef.new(store, 1 as number | string);
  exact<number>()(u.dataMutSync<number>((v) => v + 1));
  // @ts-expect-error: but never a type the root's type does not include
  u.dataMutSync<boolean>((v) => !v);
}

export async function callIsTypedByTheValuesMethods(): Promise<void> {
  const list = ExternRef.new(store, [1, 2]);
  exact<number>()(await list.call('push', 3));
  exact<number | undefined>()(list.callSync('pop'));
  exact<number[]>()(await list.call('slice', 0, 1));
  // @ts-expect-error: push takes numbers here
  await list.call('push', 'x');
  // @ts-expect-error: not a method of an array
  await list.call('length');
  // @ts-expect-error: names every object inherits are never methods (ERR_NO_SUCH_METHOD)
  await list.call('toString');
  // @ts-expect-error: nor is constructor
  await list.call('constructor');
  const text = ExternRef.new(store, 'text');
  // @ts-expect-error: a primitive has no methods on the coordinator (ERR_NO_SUCH_METHOD)
  await text.call('toUpperCase');
  const map = ExternRef.new(store, new Map<string, number>());
  exact<number | undefined>()(await map.call('get', 'k'));
}

class Point {
  #secret = 0;
  x = 1;
  norm(): number {
    return Math.abs(this.x) + this.#secret;
  }
}

export async function aClassInstanceGivenToNewIsPlainData(): Promise<void> {
  // The heap holds a structured clone: fields, no methods, no private state.
  const p = ExternRef.new(store, new Point());
  exact<Rooted<{ x: number }>>()(p);
  exact<{ x: number }>()(await p.data());
  // @ts-expect-error: the clone has no methods (ERR_NO_SUCH_METHOD at run time)
  await p.call('norm');
  // @ts-expect-error: nor is it a Point
  const _point: Rooted<Point> = p;
  // A value that cannot be cloned at all is ERR_NOT_CLONEABLE; its type has nothing left:
  exact<Rooted<{ n: number }>>()(ExternRef.new(store, { n: 1, f: () => 1 }));
}

export function fromRawIsAnUncheckedAssertion(): void {
  const raw = ExternRef.new(store, 'text').toRaw();
  exact<Rooted<unknown> | null>()(ExternRef.fromRaw(store, raw));
  exact<Rooted<Session> | null>()(ExternRef.fromRaw<Session>(store, raw)); // compiles: nothing checks it
  exact<ManuallyRooted<Session> | null>()(ExternRef.fromRawManuallyRooted<Session>(store, raw));
  exact<ManuallyRooted<string> | null>()(ExternRef.fromOwnedRaw<string>(store, raw));
}

export function isChecksAndNarrows(): void {
  const r = ExternRef.fromRaw(store, 1)!;
  if (r.is(Map)) exact<Rooted<Map<unknown, unknown>>>()(r);
  if (r.is(String)) exact<string>()(r.dataSync());
  if (r.is(Number)) exact<number>()(r.dataSync());
  if (r.is(BigInt)) exact<bigint>()(r.dataSync());
  if (r.is(Array)) exact<unknown[]>()(r.dataSync());
  if (r.is(Object)) exact<Record<string, unknown>>()(r.dataSync());
  if (r.is(Point)) exact<Rooted<Point>>()(r);
  const m = r.toManuallyRooted();
  if (m.is(Date)) exact<ManuallyRooted<Date>>()(m);
  exact<string>()(r.typeOf());
  // @ts-expect-error: not a class
  r.is('Map');
}

export function rootsOfATypeAreRootsOfUnknown(): void {
  const s: Rooted<string> = ExternRef.new(store, 'text');
  const anyRoot: Rooted = s; // covariant: a typed root goes where an untyped one does
  const base: RootBase = s.toManuallyRooted();
  ExternRef.ptrEq(anyRoot, base);
  // @ts-expect-error: an untyped root is no typed one (narrow it with is(), or assert with fromRaw<T>)
  const _typed: Rooted<string> = anyRoot;
  // @ts-expect-error: a manual root is no scoped one
  const _scoped: Rooted<string> = s.toManuallyRooted();
  // @ts-expect-error: roots of different types do not mix
  const _other: Rooted<number> = s;
}
