/**
 * Traps: every failure inside a Wasm call as a `WasmTrap`, with Wasmtime's trap code when V8's
 * error identifies one.
 *
 * Any thread. V8 reports a guest's trap as a `WebAssembly.RuntimeError` whose message names the
 * cause ("divide by zero", "table index is out of bounds"), and a stack overflow as a
 * `RangeError`. The messages are fixed strings of V8's (its `kTrap*` messages), so they map one to
 * one onto Wasmtime's `Trap` variants, except one: V8 says "null function or function signature
 * mismatch" both for a call through a null table slot and for a call whose signature differs
 * (a single check in its code), so that one is resolved by looking at the table slot the call
 * used when the faulting instruction's operand is known (see `resolveIndirectCall`), and is
 * `null` otherwise.
 *
 * Rejected: matching on the spec test suite's wording ("uninitialized element", "indirect call
 * type mismatch"). Those are the interpreter's messages, not V8's.
 */
import { type TrapCode, WasmTrap } from '../errors';

/** V8 11.3's trap messages and the Wasmtime trap each one means. */
const BY_MESSAGE: ReadonlyMap<string, TrapCode> = new Map<string, TrapCode>([
  ['unreachable', 'UnreachableCodeReached'],
  ['memory access out of bounds', 'MemoryOutOfBounds'],
  ['operation does not support unaligned accesses', 'HeapMisaligned'],
  ['divide by zero', 'IntegerDivisionByZero'],
  ['remainder by zero', 'IntegerDivisionByZero'],
  ['divide result unrepresentable', 'IntegerOverflow'],
  ['float unrepresentable in integer range', 'BadConversionToInteger'],
  ['table index is out of bounds', 'TableOutOfBounds'],
  ['dereferencing a null pointer', 'NullReference'],
  ['array element access out of bounds', 'ArrayOutOfBounds'],
  ['requested new array is too large', 'AllocationTooLarge'],
  ['illegal cast', 'CastFailure'],
]);

/** V8's message for both an indirect call through a null slot and one with the wrong signature. */
export const INDIRECT_CALL_MESSAGE = 'null function or function signature mismatch';

/** Whether `err` is V8's stack overflow. */
function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && err.message === 'Maximum call stack size exceeded';
}

/**
 * The Wasmtime trap code for `err`, thrown by a guest's code, or `null`. `indirect` settles V8's
 * one message for two traps, when the caller can tell (`null` if it cannot).
 */
export function trapCodeOf(err: unknown, indirect?: () => TrapCode | null): TrapCode | null {
  if (isStackOverflow(err)) return 'StackOverflow';
  if (!(err instanceof WebAssembly.RuntimeError)) return null;
  if (err.message === INDIRECT_CALL_MESSAGE) return indirect?.() ?? null;
  return BY_MESSAGE.get(err.message) ?? null;
}

/**
 * A trap of the guest's (from a typed call or a start function): its trap code from V8's error.
 * A `WasmTrap` raised deeper (by an import) passes through as it is.
 */
export function guestTrap(where: string, err: unknown, indirect?: () => TrapCode | null): WasmTrap {
  return err instanceof WasmTrap ? err : new WasmTrap(where, err, trapCodeOf(err, indirect));
}

/**
 * A failure in a host function (an import): not a trap of the guest's, so no trap code, except
 * a stack overflow, which may run out in either.
 */
export function hostTrap(where: string, err: unknown): WasmTrap {
  if (err instanceof WasmTrap) return err;
  return new WasmTrap(where, err, isStackOverflow(err) ? 'StackOverflow' : null);
}
