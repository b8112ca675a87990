/**
 * Type tests: roots carry their value's type (`Rooted<T>`, `ManuallyRooted<T>`), from
 * `ExternRef.new` through reads, mutations, method calls and conversions. Compile-only (see
 * expect.ts).
 */
import {
  type Cloneable,
  type Cloned,
  ExternRef,
  type InPlace,
  type ManuallyRooted,
  type RootBase,
  type Rooted,
  type Store,
} from '../../src';
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
  // A typed root is mutated as its own type: what fn commits is a T, and what dataMut gives back.
  const u = ExternRef.new(store, 1 as number | string);
  exact<number | string>()(u.dataMutSync((v) => (typeof v === 'number' ? v + 1 : v)));
  // @ts-expect-error: a narrower type would be an assertion nothing checks (a string may be there)
  u.dataMutSync<number>((v) => v + 1);
  // @ts-expect-error: nor a type the root's type does not include
  u.dataMutSync<boolean>((v) => !v);
  // @ts-expect-error: nor asynchronously
  await u.dataMut<number>(async (v) => v);
  exact<number | string>()(u.dataMutSync<number | string | boolean>((v) => v)); // a wider one changes nothing
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
}

class Handler {
  onEvent = (): number => 1; // an arrow-function field: own, so a clone refuses it (ERR_NOT_CLONEABLE)
}

export function whatACloneRefusesDoesNotCompile(): void {
  // @ts-expect-error: a function (ERR_NOT_CLONEABLE at run time)
  ExternRef.new(store, () => 1);
  // @ts-expect-error: a symbol
  ExternRef.new(store, Symbol('s'));
  // @ts-expect-error: an object literal's function-valued property is its own
  ExternRef.new(store, { n: 1, f: () => 1 });
  // @ts-expect-error: its methods too (an object literal's methods are own properties)
  ExternRef.newManuallyRooted(store, {
    n: 1,
    get(): number {
      return 1;
    },
  });
  // @ts-expect-error: at any depth, in arrays
  ExternRef.new(store, { list: [{ n: 1, f: () => 1 }] });
  // @ts-expect-error: in Maps
  ExternRef.new(store, new Map([['k', () => 1]]));
  // @ts-expect-error: in Sets
  ExternRef.new(store, new Set([Symbol('s')]));
  // @ts-expect-error: a promise and the weak collections
  ExternRef.new(store, Promise.resolve(1));
  // @ts-expect-error: a weak collection
  ExternRef.new(store, { seen: new WeakSet<object>() });
  // @ts-expect-error: an optional function-valued property may hold one
  ExternRef.new(store, value<{ n: number; f?: () => void }>());
  // @ts-expect-error: a union that may be a function
  ExternRef.new(store, value<number | (() => number)>());
  // So the root of such a value, where one is typed, is of nothing:
  exact<never>()(value<Cloned<() => number>>());
  exact<never>()(value<Cloned<{ n: number; f: () => number }>>());
  // A class instance still compiles: its methods live on its prototype, which a clone skips.
  exact<Rooted<{ x: number }>>()(ExternRef.new(store, new Point()));
  exact<Rooted<{ p: { x: number }; at: Date }>>()(ExternRef.new(store, { p: new Point(), at: new Date() }));
  // An interface's function members may be methods too, so they are dropped, not refused:
  interface Greeter {
    name: string;
    greet(): string;
  }
  exact<Rooted<{ name: string }>>()(ExternRef.new(store, value<Greeter>()));
  // Where TypeScript cannot tell an own function from a method, the run time refuses it:
  exact<Rooted<Record<never, never>>>()(ExternRef.new(store, new Handler())); // ERR_NOT_CLONEABLE
  // Literals keep widening as before, and a value typed unknown compiles (checked at run time):
  exact<Rooted<string>>()(ExternRef.new(store, 'text'));
  exact<Rooted<'text'>>()(ExternRef.new(store, 'text' as const));
  exact<Rooted<unknown>>()(ExternRef.new(store, value<unknown>()));
  // Symbol-keyed properties are skipped by a clone, not refused:
  exact<Rooted<{ n: number }>>()(ExternRef.new(store, { n: 1, [Symbol.iterator]: 1 }));
}

/** A generic caller: its T is not known to the check yet, so it asks for a Cloneable<T> itself. */
export function wrap<T>(value: Cloneable<T>): Rooted<Cloned<T>> {
  return ExternRef.new(store, value);
}

export function aGenericCallerPassesTheCheckOn(): void {
  exact<Rooted<number[]>>()(wrap([1, 2]));
  // @ts-expect-error: its callers are checked
  wrap({ f: () => 1 });
}

export async function callArgumentsAreClonedToo(): Promise<void> {
  const list = ExternRef.new(store, [1, 2]);
  exact<number[]>()(await list.call('slice', 0, 1));
  exact<number[]>()(await list.call('sort')); // its compare function is optional
  // @ts-expect-error: a callback cannot be sent (ERR_NOT_CLONEABLE)
  await list.call('forEach', (n: number) => n);
  // @ts-expect-error: nor synchronously
  list.callSync('sort', (a: number, b: number) => a - b);
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
  // Only a value built in place keeps a class's name (a clone of one is an Object): is() says so.
  if (r.is(Point)) exact<Rooted<InPlace<Point>>>()(r);
  // @ts-expect-error: so its data cannot be read
  if (r.is(Point)) r.dataSync();
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

export async function rootsAreInvariantInTheirValuesType(): Promise<void> {
  const s = ExternRef.new(store, 'text');
  // A wider alias would let a number be committed to the string's object:
  // @ts-expect-error: so a Rooted<string> is no Rooted<string | number>
  const wide: Rooted<string | number> = s;
  await wide.dataMut(() => 1);
  // @ts-expect-error: nor is a manual root
  const _wideManual: ManuallyRooted<string | number> = s.toManuallyRooted();
  // @ts-expect-error: nor is the base type
  const _wideBase: RootBase<string | number> = s;
  const n = ExternRef.new(store, 1 as number | string);
  // @ts-expect-error: and the other way round, a number | string is no number
  const _narrow: Rooted<number> = n;
  // So is() checks a typed root but keeps its type: narrow the value it reads instead.
  if (n.is(String)) exact<number | string>()(n.dataSync());
  // Untyped roots stay above every typed one, and a root of T is a RootBase<T>:
  const list: readonly Rooted[] = [s, n, ExternRef.new(store, new Map<string, Date>())];
  const bases: readonly RootBase[] = [...list, s.toManuallyRooted()];
  const own: RootBase<string> = s;
  exact<boolean>()(ExternRef.ptrEq(own, bases[0]!));
}
