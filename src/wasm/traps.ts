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
import { type CodeLayout, instructionAt, readCodeLayout, writesLocal, writesTable } from './code-reader';

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

/** The typed call that trapped: the function index it entered and the Wasm arguments it passed. */
export interface TrappedCall {
  readonly func: number;
  readonly args: readonly unknown[];
}

/** A table slot as far as the trap is concerned: null, or a function of a known type or not. */
type Slot = null | { readonly type: FuncType | null };

const layouts = new WeakMap<Uint8Array, CodeLayout>();

function sameType(a: FuncType, b: FuncType): boolean {
  return a.params.join() === b.params.join() && a.results.join() === b.results.join();
}

/**
 * The slots of table `index` now: read from the table when the host can reach it; else, for a
 * table of the module's own that no code writes (no table.set, grow, fill, init or copy into it)
 * and nobody else can reach, what its active element segments put there. `null` if unknown.
 */
function slotsOf(
  ctx: IndirectCallContext,
  types: ModuleTypes,
  layout: CodeLayout,
  index: number,
  bytes: Uint8Array,
): Slot[] | null {
  const importedTables = types.imports.filter((i) => i.kind === 'table').length;
  const own = index >= importedTables;
  const table = ctx.table(index);
  if (table !== null) {
    if (table.length > 100_000) return null;
    return Array.from({ length: table.length }, (_, i) => {
      const fn: unknown = table.get(i);
      return fn === null ? null : { type: ctx.functionType(fn, own) };
    });
  }
  const exported = types.exports.some((e) => e.kind === 'table' && e.index === index);
  const type = types.tables[index];
  if (!own || exported || type === undefined || type.initial > 100_000) return null;
  if (writesTable(bytes, layout.bodies, index)) return null;
  const slots: Slot[] = new Array<Slot>(type.initial).fill(null);
  for (const seg of layout.segments) {
    if (seg.table !== index) continue;
    if (seg.offset === null) return null;
    for (let i = 0; i < seg.elements.length; i++) {
      const e = seg.elements[i];
      if (e === undefined || seg.offset + i >= slots.length) return null;
      slots[seg.offset + i] = e === null ? null : { type: types.functions[e] ?? null };
    }
  }
  return slots;
}

/**
 * Tells `IndirectCallToNull` from `BadSignature` for V8's one message for both. The trap's top
 * frame (`wasm-function[f]:0xOFFSET` in the stack) and the module's bytes give the
 * `call_indirect` that trapped, so its table and expected type. Then, in order:
 * - the slot it called, when known: the instruction before it is an `i32.const`, or a `local.get`
 *   of a parameter that the function never writes, in the function the typed call entered straight
 *   from JS (so the parameter is the argument the host passed): a null slot is
 *   `IndirectCallToNull`, a function `BadSignature`;
 * - else the table's contents (see `slotsOf`): no null slot means `BadSignature`, only functions of
 *   the expected type means `IndirectCallToNull`.
 * Anything less certain is `null`. Runs only after such a trap.
 */
export function resolveIndirectCall(err: unknown, ctx: IndirectCallContext, call?: TrappedCall): TrapCode | null {
  const { bytes, types } = ctx;
  if (bytes === null || types === null || !(err instanceof Error)) return null;
  const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  const top = /wasm-function\[(\d+)\]:0x([0-9a-f]+)/.exec(frames[0] ?? '');
  if (top === null) return null;
  const func = Number(top[1]);
  const offset = parseInt(top[2]!, 16);
  try {
    const importedFuncs = types.imports.filter((i) => i.kind === 'function').length;
    let layout = layouts.get(bytes);
    if (layout === undefined) layouts.set(bytes, (layout = readCodeLayout(bytes, importedFuncs)));
    const body = layout.bodies.find((b) => b.func === func);
    const site = body === undefined ? null : instructionAt(bytes, body, offset);
    if (site === null || (site.instruction.op !== 0x11 && site.instruction.op !== 0x13)) return null;
    const [typeIndex, tableIndex] = site.instruction.indices as [number, number];
    const expected = types.signatures[typeIndex];
    const slots = slotsOf(ctx, types, layout, tableIndex, bytes);
    if (expected === undefined || slots === null) return null;
    let slot: number | null = null;
    const prev = site.previous;
    if (prev?.op === 0x41) slot = prev.i32! >>> 0;
    else if (
      prev?.op === 0x20 &&
      call !== undefined &&
      call.func === func &&
      !/wasm-function\[/.test(frames[1] ?? '')
    ) {
      const local = prev.indices[0]!;
      const params = types.functions[func]?.params ?? [];
      if (local < params.length && params[local] === 'i32' && !writesLocal(bytes, body!, local)) {
        slot = Number(call.args[local]) >>> 0;
      }
    }
    if (slot !== null)
      return slot >= slots.length ? null : slots[slot] === null ? 'IndirectCallToNull' : 'BadSignature';
    if (slots.every((x) => x !== null)) return 'BadSignature';
    if (slots.every((x) => x === null || (x.type !== null && sameType(x.type, expected)))) return 'IndirectCallToNull';
    return null;
  } catch (e) {
    if (e instanceof WebAssembly.CompileError) return null; // code this reader does not know
    throw e;
  }
}
