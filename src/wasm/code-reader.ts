/**
 * Function bodies and element segments of a Wasm binary, for naming a trap (`traps.ts`): the
 * instruction at a trap's byte offset and the one before it, whether any code writes a table or a
 * local, and what the active element segments put in each table.
 *
 * Any thread; runs only after a trap, never on a call's path. It knows the immediates of every
 * instruction V8 in Node 20 validates without flags (MVP, sign extension, saturating conversions,
 * bulk memory, reference types, multi-value, SIMD, threads, tail calls, legacy exception
 * handling) and throws a `WebAssembly.CompileError` at anything else, which the caller takes as
 * "unknown".
 *
 * Rejected: scanning the bytes for an opcode without decoding. Immediates (constants, offsets,
 * indices) can hold any byte, so a scan finds opcodes that are not there.
 */

function fail(at: number, what: string): never {
  throw new WebAssembly.CompileError(`wasm code reader: ${what} (at byte 0x${at.toString(16)})`);
}

/** A cursor over `bytes[pos, end)`; every read checks `end`. */
class ByteReader {
  readonly bytes: Uint8Array;
  pos: number;
  end: number;

  constructor(bytes: Uint8Array, pos: number, end: number) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  get left(): number {
    return this.end - this.pos;
  }

  u8(what: string): number {
    if (this.pos >= this.end) fail(this.pos, `unexpected end of data in ${what}`);
    return this.bytes[this.pos++]!;
  }

  u32(what: string): number {
    const start = this.pos;
    let result = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.u8(what);
      result += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return result >= 2 ** 32 ? fail(start, `${what} does not fit in 32 bits`) : result;
    }
    return fail(start, `${what} is longer than 5 bytes`);
  }

  /** A signed LEB128 of at most `bits` bits, as a number. */
  s(what: string, bits: number): number {
    const start = this.pos;
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      if (shift >= bits + 7) fail(start, `${what} is too long`);
      b = this.u8(what);
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while ((b & 0x80) !== 0);
    if ((b & 0x40) !== 0) result -= 2 ** shift;
    return result;
  }

  skip(n: number, what: string): void {
    if (n > this.left) fail(this.pos, `unexpected end of data in ${what}`);
    this.pos += n;
  }

  count(what: string): number {
    const at = this.pos;
    const n = this.u32(what);
    if (n > this.left) fail(at, `${what}: count ${n} exceeds the ${this.left} bytes left`);
    return n;
  }
}

/** A function body in the code section, by byte offsets in the binary. */
export interface CodeBody {
  /** The function's index (imported functions first). */
  readonly func: number;
  /** Offset of its locals. */
  readonly start: number;
  /** Offset just past its last byte. */
  readonly end: number;
}

/** An active element segment: what it writes into which table at instantiation. */
export interface ActiveSegment {
  /** The table index. */
  readonly table: number;
  /** Where it starts, or `null` when the offset is not an `i32.const`. */
  readonly offset: number | null;
  /** Each element: a function index, `null`, or `undefined` for an initialiser it cannot tell. */
  readonly elements: readonly (number | null | undefined)[];
}

/** The code and element sections of a module. */
export interface CodeLayout {
  readonly bodies: readonly CodeBody[];
  readonly segments: readonly ActiveSegment[];
}

/** A constant expression's value when it is a simple one. */
function constExpr(
  r: ByteReader,
): { kind: 'i32'; value: number } | { kind: 'func'; index: number } | { kind: 'null' } | { kind: 'other' } {
  let value: ReturnType<typeof constExpr> = { kind: 'other' };
  let n = 0;
  for (;;) {
    const at = r.pos;
    const op = r.u8('a constant expression');
    n++;
    switch (op) {
      case 0x0b:
        return n === 2 ? value : { kind: 'other' };
      case 0x41:
        value = { kind: 'i32', value: r.s('an i32.const', 32) };
        break;
      case 0x42:
        r.s('an i64.const', 64);
        break;
      case 0x43:
        r.skip(4, 'an f32.const');
        break;
      case 0x44:
        r.skip(8, 'an f64.const');
        break;
      case 0x23:
        r.u32('a global index');
        break;
      case 0xd2:
        value = { kind: 'func', index: r.u32('a function index') };
        break;
      case 0xd0:
        r.u8('a reference type');
        value = { kind: 'null' };
        break;
      case 0x6a:
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        break;
      case 0xfd:
        if (r.u32('a SIMD opcode') !== 12) fail(at, 'not a constant instruction');
        r.skip(16, 'a v128.const');
        break;
      default:
        fail(at, `opcode 0x${op.toString(16)} is not a constant instruction`);
    }
  }
}

/** Reads the code section's bodies and the active element segments of `bytes`. */
export function readCodeLayout(bytes: Uint8Array, importedFunctions: number): CodeLayout {
  const bodies: CodeBody[] = [];
  const segments: ActiveSegment[] = [];
  const r = new ByteReader(bytes, 8, bytes.length);
  while (r.left > 0) {
    const id = r.u8('a section id');
    const size = r.u32('a section size');
    const s = new ByteReader(bytes, r.pos, r.pos + size);
    r.skip(size, 'a section');
    if (id === 9) {
      for (let n = s.count('the element section'); n > 0; n--) {
        const at = s.pos;
        const flags = s.u32('element segment flags');
        if (flags > 7) fail(at, `element segment flags ${flags}`);
        const active = (flags & 1) === 0;
        const explicitTable = (flags & 2) !== 0;
        const exprs = (flags & 4) !== 0;
        const table = active && explicitTable ? s.u32('a table index') : 0;
        const offset = active ? constExpr(s) : null;
        if (!active || explicitTable) s.u8('an element kind or type');
        const elements: (number | null | undefined)[] = [];
        for (let k = s.count('an element segment'); k > 0; k--) {
          if (!exprs) elements.push(s.u32('a function index'));
          else {
            const v = constExpr(s);
            elements.push(v.kind === 'func' ? v.index : v.kind === 'null' ? null : undefined);
          }
        }
        if (offset !== null)
          segments.push({ table, offset: offset.kind === 'i32' ? offset.value >>> 0 : null, elements });
      }
    } else if (id === 10) {
      let func = importedFunctions;
      for (let n = s.count('the code section'); n > 0; n--) {
        const bodySize = s.u32('a function body size');
        bodies.push({ func: func++, start: s.pos, end: s.pos + bodySize });
        s.skip(bodySize, 'a function body');
      }
    }
  }
  return { bodies, segments };
}

/** One decoded instruction: its opcode (and sub-opcode after a prefix) and the immediates used here. */
export interface Instruction {
  /** Offset of its first byte. */
  readonly at: number;
  /** The opcode byte (or the prefix 0xfc, 0xfd, 0xfe). */
  readonly op: number;
  /** The sub-opcode after a prefix, else -1. */
  readonly sub: number;
  /** Index immediates in encoding order (type and table of `call_indirect`, table of `table.set`, …). */
  readonly indices: readonly number[];
  /** The value of an `i32.const`. */
  readonly i32?: number;
}

function memarg(r: ByteReader): void {
  const align = r.u32('a memory alignment');
  if ((align & 0x40) !== 0) r.u32('a memory index');
  r.u32('a memory offset');
}

/** Decodes the instruction at `r.pos`. */
function next(r: ByteReader): Instruction {
  const at = r.pos;
  const op = r.u8('an opcode');
  const idx = (n: number): number[] => Array.from({ length: n }, () => r.u32('an index'));
  switch (op) {
    case 0x02: // block, loop, if, try
    case 0x03:
    case 0x04:
    case 0x06:
      r.s('a block type', 33);
      return { at, op, sub: -1, indices: [] };
    // catch, throw, rethrow, br, br_if, call, return_call, delegate, local.*, global.*, table.get/set, ref.func
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x0c:
    case 0x0d:
    case 0x10:
    case 0x12:
    case 0x18:
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x24:
    case 0x25:
    case 0x26:
    case 0xd2:
      return { at, op, sub: -1, indices: idx(1) };
    case 0x0e: {
      for (let n = r.count('a br_table') + 1; n > 0; n--) r.u32('a br_table label');
      return { at, op, sub: -1, indices: [] };
    }
    case 0x11: // call_indirect, return_call_indirect: type, table
    case 0x13:
      return { at, op, sub: -1, indices: idx(2) };
    case 0x1c: {
      for (let n = r.count('a typed select'); n > 0; n--) r.u8('a value type');
      return { at, op, sub: -1, indices: [] };
    }
    case 0x3f: // memory.size, memory.grow
    case 0x40:
      r.u32('a memory index');
      return { at, op, sub: -1, indices: [] };
    case 0x41:
      return { at, op, sub: -1, indices: [], i32: r.s('an i32.const', 32) };
    case 0x42:
      r.s('an i64.const', 64);
      return { at, op, sub: -1, indices: [] };
    case 0x43:
      r.skip(4, 'an f32.const');
      return { at, op, sub: -1, indices: [] };
    case 0x44:
      r.skip(8, 'an f64.const');
      return { at, op, sub: -1, indices: [] };
    case 0xd0:
      r.u8('a reference type');
      return { at, op, sub: -1, indices: [] };
    case 0xfc:
      return prefixFC(r, at);
    case 0xfd:
      return prefixFD(r, at);
    case 0xfe:
      return prefixFE(r, at);
    default:
      if (op >= 0x28 && op <= 0x3e) {
        memarg(r);
        return { at, op, sub: -1, indices: [] };
      }
      // No immediates: unreachable nop else end return drop select catch_all, numeric and
      // sign-extension operators, ref.is_null.
      if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x19 || op === 0x1a || op === 0x1b) {
        return { at, op, sub: -1, indices: [] };
      }
      if ((op >= 0x45 && op <= 0xc4) || op === 0xd1) return { at, op, sub: -1, indices: [] };
      return fail(at, `opcode 0x${op.toString(16)} is not one this reader knows`);
  }
}

function prefixFC(r: ByteReader, at: number): Instruction {
  const sub = r.u32('a 0xfc sub-opcode');
  const op = 0xfc;
  if (sub <= 7) return { at, op, sub, indices: [] }; // saturating conversions
  switch (sub) {
    case 8: {
      const data = r.u32('a data index');
      r.u32('a memory index');
      return { at, op, sub, indices: [data] };
    }
    case 10:
      r.u32('a memory index');
      r.u32('a memory index');
      return { at, op, sub, indices: [] };
    case 11:
      r.u32('a memory index');
      return { at, op, sub, indices: [] };
    case 9: // data.drop, elem.drop, table.grow, table.size, table.fill
    case 13:
    case 15:
    case 16:
    case 17:
      return { at, op, sub, indices: idx1(r) };
    case 12: // table.init elem table; table.copy dst src
    case 14:
      return { at, op, sub, indices: [r.u32('an index'), r.u32('an index')] };
    default:
      return fail(at, `0xfc sub-opcode ${sub} is not one this reader knows`);
  }
}

function idx1(r: ByteReader): number[] {
  return [r.u32('an index')];
}

function prefixFD(r: ByteReader, at: number): Instruction {
  const sub = r.u32('a SIMD sub-opcode');
  const op = 0xfd;
  if (sub <= 0x0b || sub === 0x5c || sub === 0x5d) memarg(r);
  else if (sub === 0x0c || sub === 0x0d) r.skip(16, 'a 16-byte SIMD immediate');
  else if (sub >= 0x15 && sub <= 0x22) r.u8('a lane index');
  else if (sub >= 0x54 && sub <= 0x5b) {
    memarg(r);
    r.u8('a lane index');
  } else if (sub > 0x113) fail(at, `SIMD sub-opcode ${sub} is not one this reader knows`);
  return { at, op, sub, indices: [] };
}

function prefixFE(r: ByteReader, at: number): Instruction {
  const sub = r.u32('an atomic sub-opcode');
  const op = 0xfe;
  if (sub === 0x03) r.u8('atomic.fence');
  else if (sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e)) memarg(r);
  else fail(at, `atomic sub-opcode ${sub} is not one this reader knows`);
  return { at, op, sub, indices: [] };
}

/** A reader at the first instruction of `body` (past its locals). */
function bodyReader(bytes: Uint8Array, body: CodeBody): ByteReader {
  const r = new ByteReader(bytes, body.start, body.end);
  for (let n = r.count('a locals vector'); n > 0; n--) {
    r.u32('a local count');
    r.u8('a local type');
  }
  return r;
}

/** Every instruction of `body`, in order. */
function* instructions(bytes: Uint8Array, body: CodeBody): Generator<Instruction> {
  const r = bodyReader(bytes, body);
  while (r.pos < r.end) yield next(r);
}

/** The instruction starting at byte `offset` of `body` and the one before it; null if none starts there. */
export function instructionAt(
  bytes: Uint8Array,
  body: CodeBody,
  offset: number,
): { readonly instruction: Instruction; readonly previous: Instruction | null } | null {
  if (offset < body.start || offset >= body.end) return null;
  let previous: Instruction | null = null;
  for (const ins of instructions(bytes, body)) {
    if (ins.at === offset) return { instruction: ins, previous };
    if (ins.at > offset) return null;
    previous = ins;
  }
  return null;
}

/** Whether any of `bodies` can change table `table` (table.set, grow, fill, init, or copy into it). */
export function writesTable(bytes: Uint8Array, bodies: readonly CodeBody[], table: number): boolean {
  for (const body of bodies) {
    for (const ins of instructions(bytes, body)) {
      if (ins.op === 0x26 && ins.indices[0] === table) return true;
      if (ins.op !== 0xfc) continue;
      if ((ins.sub === 15 || ins.sub === 17) && ins.indices[0] === table) return true; // grow, fill
      if ((ins.sub === 12 && ins.indices[1] === table) || (ins.sub === 14 && ins.indices[0] === table)) return true;
    }
  }
  return false;
}

/** Whether `body` writes local `local` (local.set, local.tee). */
export function writesLocal(bytes: Uint8Array, body: CodeBody, local: number): boolean {
  for (const ins of instructions(bytes, body)) {
    if ((ins.op === 0x21 || ins.op === 0x22) && ins.indices[0] === local) return true;
  }
  return false;
}
