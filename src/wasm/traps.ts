/**
 * Traps: every failure inside a Wasm call as a `WasmTrap`, with Wasmtime's trap code when V8's
 * error identifies one.
 *
 * Any thread. V8 reports a guest's trap as a `WebAssembly.RuntimeError` whose message names the
 * cause ("divide by zero", "table index is out of bounds"), and a stack overflow as a
 * `RangeError`. The messages are fixed strings of V8's (its `kTrap*` messages), so they map one to
 * one onto Wasmtime's `Trap` variants, except one: V8 says "null function or function signature
 * mismatch" both for a call through a null table slot and for a call whose signature differs
 * (a single check in its code), so that one is resolved by looking at the table the call used,
 * when its contents decide it (see `resolveIndirectCall`), and is `null` otherwise.
 *
 * Rejected: matching on the spec test suite's wording ("uninitialized element", "indirect call
 * type mismatch"). Those are the interpreter's messages, not V8's.
 */
import { type TrapCode, WasmTrap, trapCodeOf } from '../errors';
import type { FuncType, ModuleTypes } from './binary-types';

/** V8's message for both an indirect call through a null slot and one with the wrong signature. */
export const INDIRECT_CALL_MESSAGE = 'null function or function signature mismatch';

/** Whether `err` is V8's stack overflow. */
function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && err.message === 'Maximum call stack size exceeded';
}

/**
 * The Wasmtime trap code for `err`, thrown by a guest's code, or `null` (the messages are mapped
 * in errors.ts, `trapCodeOf`). `indirect` settles V8's one message for two traps, when the caller
 * can tell (`null` if it cannot).
 */
export function guestTrapCode(err: unknown, indirect?: () => TrapCode | null): TrapCode | null {
  if (err instanceof WebAssembly.RuntimeError && err.message === INDIRECT_CALL_MESSAGE) return indirect?.() ?? null;
  return trapCodeOf(err);
}

/**
 * A trap of the guest's (from a typed call or a start function): its trap code from V8's error.
 * A `WasmTrap` raised deeper (by an import) passes through as it is.
 */
export function guestTrap(where: string, err: unknown, indirect?: () => TrapCode | null): WasmTrap {
  return err instanceof WasmTrap ? err : new WasmTrap(where, err, guestTrapCode(err, indirect));
}

/**
 * A failure in a host function (an import): not a trap of the guest's, so no trap code, except
 * a stack overflow, which may run out in either.
 */
export function hostTrap(where: string, err: unknown): WasmTrap {
  if (err instanceof WasmTrap) return err;
  return new WasmTrap(where, err, isStackOverflow(err) ? 'StackOverflow' : null);
}

/** What `resolveIndirectCall` needs to know about the instance whose code trapped. */
export interface IndirectCallContext {
  /** The module's binary and types. */
  readonly bytes: Uint8Array | null;
  readonly types: ModuleTypes | null;
  /** The table of index `i` in the module's table index space, if the host can reach it. */
  table(i: number): WebAssembly.Table | null;
  /** The type of a function found in a table (`null` if unknown). */
  functionType(fn: unknown, ownTable: boolean): FuncType | null;
}

function readU32(bytes: Uint8Array, at: number): [number, number] | null {
  let v = 0;
  for (let i = 0; i < 5 && at + i < bytes.length; i++) {
    const b = bytes[at + i]!;
    v += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return [v, at + i + 1];
  }
  return null;
}

function sameType(a: FuncType, b: FuncType): boolean {
  return a.params.join() === b.params.join() && a.results.join() === b.results.join();
}

/**
 * Tells `IndirectCallToNull` from `BadSignature` for V8's one message, when the table decides it:
 * the trap's top frame (`wasm-function[i]:0xOFFSET` in the stack) gives the `call_indirect` and so
 * its table and expected type; a table with no null slot can only have failed the signature, and
 * one whose every function has the expected type can only have hit a null slot. Anything less
 * certain (a table the host cannot reach, a function of unknown type, both kinds of slot) is `null`.
 */
export function resolveIndirectCall(err: unknown, ctx: IndirectCallContext): TrapCode | null {
  const { bytes, types } = ctx;
  if (bytes === null || types === null || !(err instanceof Error)) return null;
  const frame = /wasm-function\[\d+\]:0x([0-9a-f]+)/.exec(err.stack ?? '');
  if (frame === null) return null;
  const at = parseInt(frame[1]!, 16);
  if (bytes[at] !== 0x11 && bytes[at] !== 0x13) return null; // call_indirect, return_call_indirect
  const typeIndex = readU32(bytes, at + 1);
  const tableIndex = typeIndex === null ? null : readU32(bytes, typeIndex[1]);
  const expected = typeIndex === null ? undefined : types.signatures[typeIndex[0]];
  if (tableIndex === null || expected === undefined) return null;
  const table = ctx.table(tableIndex[0]);
  if (table === null || table.length > 100_000) return null;
  const ownTable = tableIndex[0] >= types.imports.filter((i) => i.kind === 'table').length;
  let nulls = 0;
  let matching = 0;
  for (let i = 0; i < table.length; i++) {
    const fn: unknown = table.get(i);
    if (fn === null) nulls++;
    else {
      const t = ctx.functionType(fn, ownTable);
      if (t !== null && sameType(t, expected)) matching++;
    }
  }
  if (nulls === 0) return 'BadSignature';
  if (nulls + matching === table.length) return 'IndirectCallToNull';
  return null;
}
