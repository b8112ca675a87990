/**
 * The types behind sharedref's generics: what a value looks like once it has crossed threads, the
 * methods `call` may name, the factories `newWith` may name. Types only: this module has no code
 * at run time, and no function of sharedref checks anything here.
 *
 * Every generic defaults to `unknown`, and `unknown` (or `any`) switches the checks off: a
 * `Rooted` takes any method name and any arguments, a `Store` any factory name, as before the
 * generics existed. So untyped code compiles unchanged, and a type is only as strong as where it
 * came from: `ExternRef.new(store, value)` and `newWith` know their value's type; `fromRaw<T>`
 * asserts one without a check (Wasmtime's unchecked downcast); `root.is(Ctor)` checks one.
 *
 * Rejected: `Rooted<T>` for the value given to `ExternRef.new` as it is. The heap holds a
 * structured clone of it, so a class instance comes back as a plain object without its methods:
 * typed as the class, `call('method')` would compile and fail with `ERR_NO_SUCH_METHOD`, and
 * `data()` would promise methods that are not there. `new` gives `Rooted<Cloned<T>>`, which is
 * `Rooted<T>` itself for plain data, so the common case reads as written.
 *
 * What a clone refuses (`ERR_NOT_CLONEABLE`) does not compile where the type shows it: a function,
 * a symbol, a promise or a weak collection, anywhere in the value; and a function-valued property
 * of an object whose type is a type literal or an object literal's (every property of one is its
 * own). A class instance keeps compiling, its methods dropped: a class's or an interface's type
 * does not say whether a function member lives on the prototype (a method, which a clone skips)
 * or on the instance (an arrow-function field, which it refuses), and methods are the common case.
 */
import type { RootBase } from './roots';

/** The key of a `Store`'s host-module type (`Store<H>`). Declared only: no such value exists at run time. */
export declare const hostModuleType: unique symbol;

/** True for `unknown` and `any`: the untyped defaults, which allow every name and argument. */
export type IsUntyped<T> = unknown extends T ? true : false;

/**
 * The type of a root's phantom member (`RootBase`'s protected `valueType`: declared, never
 * present). It makes `Rooted<T>` invariant in `T`, with the untyped roots above every typed one.
 *
 * A root both reads its value (`data()`: `T` goes out) and writes it (`dataMut`: `T` goes in), so
 * a `Rooted<string>` must be no `Rooted<string | number>`, through which a number could be
 * committed to a string's object. The rest of a root cannot say so (TypeScript compares methods'
 * parameters both ways), so `in` takes `T`. An untyped root's `in` takes `never`, so every root
 * still goes where an untyped one does (`const any: Rooted = typed`, `ptrEq`, tables, host functions).
 *
 * `keys` is there for TypeScript's sake. It compares two roots of one class by a variance it
 * measures once per class, and that measure sees only "invariant", which would refuse
 * `Rooted<string>` as a `Rooted<unknown>`. A mapped type over `T` makes the measure unreliable
 * (TypeScript's word), so it compares the members instead, and those say what is above. The
 * measure stops at the first member that fails, so `keys` comes first, and the member holding this
 * type comes first in `RootBase` (a member named by a symbol would come after every named one).
 * `keys` accepts any root's keys, so it never refuses a root itself.
 *
 * Rejected: the variance annotation `in out T`. It is exact, but makes `Rooted<string>` no
 * `Rooted<unknown>`, so every API that takes any root would need a generic of its own.
 */
export interface RootValueType<T> {
  /** Makes TypeScript compare roots by their members (see above). */
  keys(keys: { readonly [K in keyof T]: unknown } | null | undefined | void): void;
  /** `T` going in: `never` for an untyped root, so that typed roots pass for untyped ones. */
  readonly in: (value: IsUntyped<T> extends true ? never : T) => void;
}

/**
 * What `dataMut<U>` asked of a typed root: a type of its own, which no function matches. A typed
 * root is mutated as its type `T`; to act on a narrower type, test the value in `fn`, or check the
 * root with `is(Ctor)` first.
 */
export interface NarrowedTypedRoot {
  /** The reason, as the compiler's error shows it. */
  readonly 'dataMut<U> asserts the value type of an untyped root only: a typed root is mutated as its own type': never;
}

/**
 * The value `dataMut` works on: the root's own type `T`, or for an untyped root (`unknown`,
 * `any`) the type `U` its caller asserts, unchecked, as `fromRaw<U>` does.
 */
export type MutatedAs<T, U> = IsUntyped<T> extends true ? U : T;

/**
 * The function `root.dataMut(fn)` takes: it receives a copy of the value and returns the new
 * value, or changes the copy and returns nothing. On a typed root it works on `T` and returns a
 * `T`: at run time any cloneable value is committed, but a root's type cannot change after the
 * fact, so a new type is a new object (`ExternRef.new`).
 */
export type DataMutFn<T, U = T> =
  IsUntyped<T> extends true
    ? (value: U) => U | void | Promise<U | void>
    : // U = T, the default (a wider U changes nothing); NoInfer: a typed root's U comes from no argument
      [T] extends [NoInfer<U>]
      ? (value: T) => T | void | Promise<T | void>
      : NarrowedTypedRoot;

/** The function `root.dataMutSync(fn)` takes: as `DataMutFn`, but it must not return a promise. */
export type DataMutSyncFn<T, U = T> =
  IsUntyped<T> extends true
    ? (value: U) => U | void
    : [T] extends [NoInfer<U>]
      ? (value: T) => T | void
      : NarrowedTypedRoot;

/** The values a structured clone copies as they are, without looking inside. */
export type Primitive = string | number | boolean | bigint | null | undefined;
/** Any function: never cloneable (`ERR_NOT_CLONEABLE`). */
export type AnyFunction = (...args: never[]) => unknown;

/** Builtins that a structured clone keeps as they are, methods included. */
export type KeptByClone =
  | Date
  | RegExp
  | Error
  | ArrayBuffer
  | SharedArrayBuffer
  | ArrayBufferView
  | Boolean // eslint-disable-line @typescript-eslint/no-wrapper-object-types -- `new Boolean()` clones as one
  | Number // eslint-disable-line @typescript-eslint/no-wrapper-object-types
  | String; // eslint-disable-line @typescript-eslint/no-wrapper-object-types
// Not WebAssembly.Module (a clone keeps it too): its interface is empty, so every object would match.

/** Builtins a structured clone refuses. Checked after `Map`, `Set` and arrays, which have their shapes. */
type RefusedByClone = Promise<unknown> | WeakMap<object, unknown> | WeakSet<object> | WeakRef<object>;

/**
 * An object type whose every property is its own at run time, as far as TypeScript can tell: the
 * type of an object literal, or a type literal. Interfaces and classes do not match it (they get
 * no implicit index signature), and their function members may be methods on a prototype.
 */
type PlainObject = { [key: string]: unknown };

/** How deep `Uncloneable` looks: far deeper than data types go, short of a recursive type's end. */
type MaxCloneDepth = 10;

/**
 * Whether a structured clone of a `T` throws, as far as the type shows: `true` (or `boolean`) if
 * it may. See the module doc for what counts; an untyped value (`unknown`, `any`) and anything
 * deeper than `MaxCloneDepth` pass.
 */
export type Uncloneable<T, Depth extends unknown[] = []> = Depth['length'] extends MaxCloneDepth
  ? false
  : IsUntyped<T> extends true
    ? false
    : T extends Primitive | RootBase<unknown> | KeptByClone
      ? false // a root travels as a root (task arguments and results)
      : T extends AnyFunction | symbol
        ? true
        : T extends ReadonlyMap<infer K, infer V>
          ? Uncloneable<K, [...Depth, T]> | Uncloneable<V, [...Depth, T]>
          : T extends ReadonlySet<infer V>
            ? Uncloneable<V, [...Depth, T]>
            : T extends readonly unknown[]
              ? Uncloneable<T[number], [...Depth, T]>
              : T extends RefusedByClone
                ? true
                : T extends PlainObject
                  ? { [K in keyof T]-?: K extends symbol ? false : Uncloneable<T[K], [...Depth, T]> }[keyof T]
                  : {
                      [K in keyof T]-?: K extends symbol // a clone skips symbol keys
                        ? false
                        : T[K] extends AnyFunction // perhaps a method: dropped, as `Cloned` drops it
                          ? false
                          : Uncloneable<T[K], [...Depth, T]>;
                    }[keyof T];

/**
 * What a value that a structured clone refuses meets where a cloneable one is expected
 * (`ExternRef.new`, `call` arguments, task parameters): a type no value has, whose one property
 * says why.
 */
export interface NotCloneableValue {
  /** The reason, as the compiler's error shows it. */
  readonly 'a structured clone refuses functions, symbols, promises and weak collections (ERR_NOT_CLONEABLE)': never;
}

/**
 * `T` when a structured clone takes a value of type `T` (as far as the type shows: see the module
 * doc); otherwise `T & NotCloneableValue`, which no value is. `ExternRef.new(store, value)` takes
 * a `Cloneable<T>`, so a value that cannot be cloned does not compile, and the error names the
 * value's type and why. A generic caller's `T` is not known yet, so it takes a `Cloneable<T>`
 * itself, or casts.
 *
 * Rejected: `T & Check<T>`, the usual form. TypeScript then keeps a literal's own type, so
 * `new(store, 'text')` gave a `Rooted<'text'>`, which (roots being invariant) is no
 * `Rooted<string>`. With `T` a branch of the conditional, a literal widens as it did before.
 */
export type Cloneable<T> = true extends Uncloneable<T> ? T & NotCloneableValue : T;

/** `Cloned<T>` before the check that keeps plain data's own name (see `Cloned`). */
type CloneOf<T> = T extends Primitive
  ? T
  : T extends RootBase<unknown>
    ? T // a root inside a value travels as a root (task arguments and results)
    : T extends AnyFunction | symbol
      ? never
      : T extends KeptByClone
        ? T
        : T extends ReadonlyMap<infer K, infer V>
          ? Map<Cloned<K>, Cloned<V>>
          : T extends ReadonlySet<infer V>
            ? Set<Cloned<V>>
            : T extends readonly unknown[]
              ? { [I in keyof T]: Cloned<T[I]> }
              : { [K in keyof T as K extends symbol ? never : T[K] extends AnyFunction ? never : K]: Cloned<T[K]> };

/**
 * What a value of type `T` is after a structured clone, as the heap keeps it: `T` itself for plain
 * data; a class instance without its methods (its public fields only). `never` where the clone
 * throws, as far as the type shows (`Cloneable`): a function, a symbol, a plain object with a
 * function-valued property. `ExternRef.new(store, value)` gives `Rooted<Cloned<typeof value>>`,
 * and a method's result comes back as `Cloned<R>`. `Map`, `Set`, `Date`, typed arrays and errors
 * keep their type.
 */
export type Cloned<T> =
  IsUntyped<T> extends true
    ? T
    : true extends Uncloneable<T>
      ? never
      : [T] extends [CloneOf<T>]
        ? [CloneOf<T>] extends [T]
          ? T
          : CloneOf<T>
        : CloneOf<T>;

/**
 * Names every object inherits from `Object.prototype`: never methods for `call`
 * (`ERR_NO_SUCH_METHOD`). A class's own `toString` is callable at run time, but left out here.
 */
type Inherited = keyof typeof Object.prototype | '__proto__';

/** The methods of `T` that `root.call` may name: its function-valued members; any string when untyped. */
export type MethodName<T> =
  IsUntyped<T> extends true
    ? string
    : [T] extends [object]
      ? // Over `Extract<keyof T, string>`, not `keyof T`: a mapped type over an array's keys makes an array.
        {
          [K in Extract<keyof T, string>]-?: K extends Inherited
            ? never
            : NonNullable<T[K]> extends AnyFunction
              ? K
              : never;
        }[Extract<keyof T, string>]
      : never; // a primitive has no methods

/**
 * The parameters of method `K` of `T`, as `call` sends them: each a structured clone, so a
 * parameter that takes a function (a callback) takes `NotCloneableValue`, which no argument is.
 */
export type MethodArgs<T, K> =
  IsUntyped<T> extends true
    ? unknown[]
    : K extends keyof T
      ? NonNullable<T[K]> extends (...args: infer A) => unknown
        ? { [I in keyof A]: true extends Uncloneable<A[I]> ? NotCloneableValue : A[I] }
        : never
      : never;

/** What `root.call(K, …)` resolves with: the method's result, awaited and cloned. */
export type MethodResult<T, K> =
  IsUntyped<T> extends true
    ? unknown
    : K extends keyof T
      ? NonNullable<T[K]> extends (...args: never[]) => infer R
        ? Cloned<Awaited<R>>
        : never
      : never;

/** The factories of host module `H` that `newWith` may name: its function exports; any string when untyped. */
export type FactoryName<H> =
  IsUntyped<H> extends true
    ? string
    : { [K in Extract<keyof H, string>]-?: H[K] extends AnyFunction ? K : never }[Extract<keyof H, string>];

/** The parameters of factory `K` of `H`. */
export type FactoryArgs<H, K> =
  IsUntyped<H> extends true
    ? unknown[]
    : K extends keyof H
      ? H[K] extends (...args: infer A) => unknown
        ? A
        : never
      : never;

/** The value factory `K` of `H` builds (awaited: the coordinator awaits a factory's promise). */
export type Built<H, K> =
  IsUntyped<H> extends true
    ? unknown
    : K extends keyof H
      ? H[K] extends (...args: never[]) => infer R
        ? Awaited<R>
        : never
      : never;

/** The key of `InPlace`'s brand. Declared only: no such value exists at run time. */
export declare const builtInPlace: unique symbol;

/**
 * The type of a value built in place by `ExternRef.newWith` from a factory's result `T`: `T`, marked.
 * Such a value lives on the coordinator and is never data, whatever its type: `data()`,
 * `dataSync()`, `dataMut` and `dataMutSync` fail at run time with `ERR_NOT_CLONEABLE` ("built in
 * place by newWith; use call(method)"), even for a plain object. The mark makes them not compile
 * (`DataRoot`), while `call` and `callSync` take `T`'s methods (the mark's key is a symbol, never
 * a method name) and everything else works as on any root. Roots being invariant, a
 * `Rooted<InPlace<HostFile>>` is no `Rooted<HostFile>`: a task that receives one declares
 * `Rooted<InPlace<HostFile>>`. An untyped factory result (`unknown`) stays untyped.
 *
 * Rejected: a root class of its own without the data methods. A task parameter, a table and every
 * API that takes a root take `Rooted`, so each would need a second overload; a mark on the value
 * type travels through all of them as the type argument does.
 */
export type InPlace<T> = IsUntyped<T> extends true ? T : T & BuiltInPlace;

/** The mark `InPlace` puts on a value type. */
export interface BuiltInPlace {
  /** Declared only: no value has it. */
  readonly [builtInPlace]: true;
}

/**
 * What `data`, `dataSync`, `dataMut` and `dataMutSync` ask of their root (`this`): nothing, unless
 * its value was built in place (`InPlace`); then `BuiltInPlaceValue`, which no root is.
 */
export type DataRoot<T> =
  IsUntyped<T> extends true ? unknown : [T] extends [BuiltInPlace] ? BuiltInPlaceValue : unknown;

/** What a root of a value built in place meets where data is read or mutated: a type no root is. */
export interface BuiltInPlaceValue {
  /** The reason, as the compiler's error shows it. */
  readonly 'a value built in place by newWith is no data (ERR_NOT_CLONEABLE): use call(method)': never;
}

/**
 * What `root.is(ctor)` accepts: a class, or a builtin's constructor. Primitive values answer to
 * their wrappers' constructors (`String`, `Number`, `Boolean`, `BigInt`).
 */
export type TypeCheck = (abstract new (...args: never[]) => unknown) | BigIntConstructor;

/**
 * The type `root.is(ctor)` narrows an untyped root to. An instance of a class of the user's is
 * `InPlace`: `is` checks the class by name, and only a value built in place keeps its class's name
 * (a clone of one is a plain `Object`). A subclass of a builtin a clone keeps (`Map`, `Error`, …)
 * cannot be told apart from the builtin here, and is not marked.
 */
export type InstanceOf<C> = C extends StringConstructor
  ? string
  : C extends NumberConstructor
    ? number
    : C extends BooleanConstructor
      ? boolean
      : C extends BigIntConstructor
        ? bigint
        : C extends ObjectConstructor
          ? Record<string, unknown>
          : C extends ArrayConstructor
            ? unknown[]
            : C extends abstract new (...args: never[]) => infer I
              ? I extends KeptByClone | ReadonlyMap<unknown, unknown> | ReadonlySet<unknown> | readonly unknown[]
                ? I
                : InPlace<I>
              : never;
