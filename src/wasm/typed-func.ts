/**
 * The type of a typed call into the guest, read from its signature: `getTypedFunc('run',
 * { params: ['externref', 'i32'], results: ['externref'] })` is a
 * `(a: RootBase | null, b: number) => Rooted | null`. Types only: this module has no code at run
 * time; `getTypedFunc` checks the signature against the module when it is asked.
 *
 * A signature known only as `Signature` (not a literal) gives the untyped
 * `(...args: unknown[]) => unknown`, as before. References coming out are `Rooted` of `unknown`:
 * the guest may return any object, so narrow with `root.is(Ctor)`.
 */
import type { RootBase, Rooted } from '../store/roots';
import type { Signature, ValType } from './abi';
import type { WasmFunction } from './externs';
import type { Caller, HostFunction } from './linker';

/** What a typed call takes for a parameter of type `T`. */
export type WasmParam<T extends ValType> = T extends 'externref' | 'handle'
  ? RootBase | null
  : T extends 'funcref'
    ? WasmFunction | null
    : T extends 'i64'
      ? bigint | number
      : number;

/** What a typed call gives for a result of type `T`. */
export type WasmResult<T extends ValType> = T extends 'externref' | 'handle'
  ? Rooted | null
  : T extends 'funcref'
    ? WasmFunction | null
    : T extends 'i64'
      ? bigint
      : number;

/**
 * A value of type `T` on one side of a call: what a typed call takes (`'in'`: its arguments, a host
 * function's results) or gives (`'out'`: its results, a host function's parameters).
 */
type Side<T extends ValType, D extends 'in' | 'out'> = D extends 'in' ? WasmParam<T> : WasmResult<T>;

/** Each of `P` on side `D` (a mapped type over a type parameter, so that a tuple maps to a tuple). */
type Each<P extends readonly ValType[], D extends 'in' | 'out'> = {
  -readonly [I in keyof P]: P[I] extends ValType ? Side<P[I], D> : never;
};

/** A call's results `R` on side `D`: none as `void`, one as itself, several as a tuple. */
type Outcome<R extends readonly ValType[], D extends 'in' | 'out'> = R extends readonly []
  ? void
  : R extends readonly [infer One extends ValType]
    ? Side<One, D>
    : Each<R, D>;

/** The typed call for `S`; untyped when `S` is not a literal signature (its lengths are unknown). */
export type TypedFunc<S extends Signature> = number extends S['params']['length'] | S['results']['length']
  ? (...args: unknown[]) => unknown
  : (...args: Each<S['params'], 'in'>) => Outcome<S['results'], 'out'>;

/**
 * The host function `linker.funcWrap(module, name, S, fn)` takes for a literal signature `S`: the
 * other side of a typed call. It receives what a typed call gives (a borrowed `Rooted`, or `null`,
 * for `externref` and `handle`; a `bigint` for `i64`; a `number` for `i32`, `f32`, `f64`) and
 * returns what a typed call takes (any root or `null` for a reference; nothing for no results, an
 * array for several). Untyped (`HostFunction`, whose parameters each callback annotates) when `S`
 * is not a literal.
 */
export type HostFunc<S extends Signature> = number extends S['params']['length'] | S['results']['length']
  ? HostFunction
  : (caller: Caller, ...args: Each<S['params'], 'out'>) => Outcome<S['results'], 'in'>;
