/** The Wasm code reader (names an indirect-call trap), over small hand-made binaries. */
import { expect } from 'chai';
import { instructionAt, readCodeLayout, writesLocal, writesTable } from '../../src/wasm/code-reader';

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

function section(id: number, body: number[]): number[] {
  return [id, body.length, ...body];
}

/** One function body: no locals, then `code`, then `end`. */
function body(code: number[]): number[] {
  const b = [0x00, ...code, 0x0b];
  return [b.length, ...b];
}

describe('wasm code reader', () => {
  // elem: table 0 at i32.const 1 gets functions [0, 0]; one flags-4 segment with ref.null.
  const elem = section(9, [2, 0x00, 0x41, 0x01, 0x0b, 2, 0, 0, 0x04, 0x41, 0x00, 0x0b, 1, 0xd0, 0x70, 0x0b]);
  const f0 = body([0x41, 0x05, 0x11, 0x00, 0x00]); // i32.const 5; call_indirect type 0 table 0
  // local.get 0; local.tee 1; table.set 2; table.fill 3
  const f1 = body([0x20, 0x00, 0x22, 0x01, 0x26, 0x02, 0xfc, 0x11, 0x03]);
  const code = section(10, [2, ...f0, ...f1]);
  const bytes = new Uint8Array([...HEADER, ...elem, ...code]);

  it('finds the bodies by function index and the active element segments with their offsets', () => {
    const layout = readCodeLayout(bytes, 3);
    expect(layout.bodies.map((b) => b.func)).to.deep.equal([3, 4]);
    expect(layout.segments).to.deep.equal([
      { table: 0, offset: 1, elements: [0, 0] },
      { table: 0, offset: 0, elements: [null] },
    ]);
  });

  it('gives the instruction at an offset and the one before it, and nothing between instructions', () => {
    const layout = readCodeLayout(bytes, 0);
    const b = layout.bodies[0]!;
    const at = b.start + 3; // past the locals count, i32.const 5
    const site = instructionAt(bytes, b, at)!;
    expect([site.instruction.op, site.instruction.indices, site.previous?.op, site.previous?.i32]).to.deep.equal([
      0x11,
      [0, 0],
      0x41,
      5,
    ]);
    expect(instructionAt(bytes, b, at - 1)).to.equal(null);
    expect(instructionAt(bytes, b, b.end + 5)).to.equal(null);
  });

  it('tells which tables and locals the code writes', () => {
    const { bodies } = readCodeLayout(bytes, 0);
    expect([0, 1, 2, 3].map((t) => writesTable(bytes, bodies, t))).to.deep.equal([false, false, true, true]);
    expect([0, 1].map((l) => writesLocal(bytes, bodies[1]!, l))).to.deep.equal([false, true]);
  });

  it('refuses an opcode it does not know, and a body cut short, with a CompileError', () => {
    const unknown = new Uint8Array([...HEADER, ...section(10, [1, ...body([0xfb, 0x00])])]);
    const { bodies } = readCodeLayout(unknown, 0);
    expect(() => writesTable(unknown, bodies, 0)).to.throw(
      WebAssembly.CompileError,
      /opcode 0xfb is not one this reader knows/,
    );
    const cut = new Uint8Array([...HEADER, ...section(10, [1, 3, 0x00, 0x41])]);
    expect(() => readCodeLayout(cut, 0)).to.throw(WebAssembly.CompileError, /unexpected end of data/);
  });
});
