/**
 * Helpers of the compile-only type tests (test/types/*.ts). These files are checked by `tsc` in
 * `npm run typecheck`, the first step of `npm test`, and never run: a line that must not compile
 * carries `// @ts-expect-error`, which fails the check when the line compiles after all.
 */

/** True when `A` and `B` are the same type (not merely assignable either way; `any` is only `any`). */
export type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

/**
 * `exact<Expected>()(value)` compiles only when `value`'s type is exactly `Expected`; otherwise the
 * error names both: "Argument of type 'Actual' is not assignable to parameter of type
 * 'Actual & { expected: Expected }'".
 */
export function exact<Expected>() {
  return <Actual>(
    _value: Actual & (Equal<Actual, Expected> extends true ? unknown : Mismatch<Actual, Expected>),
  ): void => {};
}

/** What a value of the wrong type must be, so that it is refused: `any` is refused too (`never`). */
type Mismatch<Actual, Expected> = 0 extends 1 & Actual ? never : { expected: Expected };

/** A value of type `T`, for expressions whose type is under test (never called at run time). */
export declare function value<T>(): T;

// The helpers themselves: a wrong type and `any` are refused.
// @ts-expect-error: a string is no number
exact<number>()(value<string>());
// @ts-expect-error: nor is any
exact<number>()(value<any>()); // eslint-disable-line @typescript-eslint/no-explicit-any
exact<any>()(value<any>()); // eslint-disable-line @typescript-eslint/no-explicit-any
