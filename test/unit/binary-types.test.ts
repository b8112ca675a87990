/** The Wasm binary type reader, over small hand-made binaries, well-formed and malformed. */
import { expect } from 'chai';
import { formatExternType, readModuleTypes } from '../../src/wasm/binary-types';
import { seeded } from '../helpers';

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** Unsigned LEB128. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function name(s: string): number[] {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [...leb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...leb(items.length), ...items.flat()];
}

function bin(...sections: number[][]): Uint8Array {
  return new Uint8Array([...HEADER, ...sections.flat()]);
}

const I32 = 0x7f;
const I64 = 0x7e;
const EXTERNREF = 0x6f;
const FUNCREF = 0x70;
const V128 = 0x7b;

/** type 0: (func (param i32 externref) (result externref)); type 1: (func) */
const TYPES = section(
  1,
  vec([
    [0x60, ...vec([[I32], [EXTERNREF]]), ...vec([[EXTERNREF]])],
    [0x60, 0, 0],
  ]),
);

/** The reader's error for `bytes`, which must be a CompileError. */
function failure(bytes: Uint8Array): string {
  try {
    readModuleTypes(bytes);
  } catch (err) {
    expect(err).to.be.instanceOf(WebAssembly.CompileError);
    return (err as Error).message;
  }
  return expect.fail('the reader accepted a malformed binary');
}

describe('wasm binary type reader', () => {
  it('reads the types of every import and export kind, in the module’s order', () => {
    const bytes = bin(
      TYPES,
      section(
        2,
        vec([
          [...name('host'), ...name('f'), 0x00, 0x00],
          [...name('env'), ...name('t'), 0x01, EXTERNREF, 0x01, 2, 10],
          [...name('env'), ...name('m'), 0x02, 0x03, 1, 4],
          [...name('env'), ...name('g'), 0x03, I64, 0x01],
          [...name('env'), ...name('e'), 0x04, 0x00, 0x01],
        ]),
      ),
      section(3, vec([[0x01]])),
      section(4, vec([[FUNCREF, 0x00, 3]])),
      section(6, vec([[V128, 0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b]])),
      section(
        7,
        vec([
          [...name('imported'), 0x00, 0x00],
          [...name('own'), 0x00, 0x01],
          [...name('tab'), 0x01, 0x01],
          [...name('mem'), 0x02, 0x00],
          [...name('g0'), 0x03, 0x00],
          [...name('g1'), 0x03, 0x01],
          [...name('tag'), 0x04, 0x00],
        ]),
      ),
      section(0, [...name('custom'), 1, 2, 3]),
    );
    const types = readModuleTypes(bytes);
    expect(types.imports.map((i) => `${i.module}.${i.name} ${formatExternType(i)}`)).to.deep.equal([
      'host.f (func (param i32 externref) (result externref))',
      'env.t (table 2 10 externref)',
      'env.m (memory 1 4 shared)',
      'env.g (global (mut i64))',
      'env.e (tag)',
    ]);
    expect(types.exports.map((e) => `${e.name} ${formatExternType(e)}`)).to.deep.equal([
      'imported (func (param i32 externref) (result externref))',
      'own (func)',
      'tab (table 3 funcref)',
      'mem (memory 1 4 shared)',
      'g0 (global (mut i64))',
      'g1 (global v128)',
      'tag (tag)',
    ]);
  });

  it('agrees with V8 on a module wabt compiled (names and kinds in order)', () => {
    const bytes = bin(TYPES, section(3, vec([[0x00]])), section(7, vec([[...name('run'), 0x00, 0x00]])));
    // The code section is skipped by its size, so a binary without one is enough for the reader;
    // V8 needs it, so compare on one with a body.
    const code = section(10, vec([[...leb(4), 0, 0x20, 0x01, 0x0b]]));
    const full = new Uint8Array([...bytes, ...code]);
    const mod = new WebAssembly.Module(full);
    const types = readModuleTypes(full);
    expect(types.exports.map((e) => [e.name, e.kind])).to.deep.equal(
      WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]),
    );
  });

  it('reads an empty module', () => {
    expect(readModuleTypes(bin())).to.deep.equal({
      imports: [],
      exports: [],
      signatures: [],
      functions: [],
      tables: [],
    });
  });

  const malformed: Array<[string, Uint8Array, RegExp]> = [
    ['a bad magic number', new Uint8Array([0, 0x61, 0x73, 0x6e, 1, 0, 0, 0]), /not a Wasm binary/],
    ['a bad version', new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), /unsupported binary version \[2,0,0,0\]/],
    ['a truncated header', new Uint8Array([0, 0x61, 0x73]), /unexpected end of data, expected the magic number/],
    ['a section longer than the binary', bin([1, 50, 0]), /section 1 declares 50 bytes but only 1 are left/],
    ['a LEB128 above 32 bits', bin([1, 0xff, 0xff, 0xff, 0xff, 0x7f]), /does not fit in 32 bits/],
    ['an unknown value type', bin(section(1, vec([[0x60, 1, 0x55, 0]]))), /unknown value type 0x55/],
    ['a Wasm GC type form', bin(section(1, vec([[0x5f, 0, 0]]))), /form 0x5f is not a function type/],
    ['a type index out of range', bin(TYPES, section(3, vec([[7]]))), /type index 7 is out of range \(2 types\)/],
    ['a huge vector count', bin(section(3, [0xff, 0xff, 0xff, 0xff, 0x0f])), /count 4294967295 exceeds the 0 bytes/],
    ['bytes after a section’s last entry', bin(section(3, [0, 0])), /section 3 has 1 bytes after its last entry/],
    ['an unknown section id', bin([14, 0]), /unknown section id 14/],
    ['a 64-bit memory', bin(section(5, vec([[0x04, 1]]))), /64-bit memories are not supported/],
    ['a shared memory without maximum', bin(section(5, vec([[0x02, 1]]))), /must declare a maximum/],
    ['a maximum below the initial size', bin(section(5, vec([[0x01, 4, 2]]))), /maximum 2 is below initial 4/],
    ['an import name that is not UTF-8', bin(section(2, vec([[1, 0xff, 1, 0x66, 0, 0]]))), /not valid UTF-8/],
    ['an unknown import kind', bin(section(2, vec([[...name('a'), ...name('b'), 9, 0]]))), /unknown import kind 0x9/],
    ['an export index out of range', bin(section(7, vec([[...name('f'), 0, 3]]))), /function index 3 is out of range/],
    [
      'a non-constant initialiser',
      bin(section(6, vec([[I32, 0, 0x20, 0, 0x0b]]))),
      /opcode 0x20 is not a constant instruction/,
    ],
    ['a global cut short', bin(section(6, vec([[I32, 0, 0x41]]))), /unexpected end of data/],
  ];
  for (const [what, bytes, message] of malformed) {
    it(`refuses ${what} with a CompileError naming it`, () => {
      expect(failure(bytes))
        .to.match(message)
        .and.match(/\(at byte 0x[0-9a-f]+\)$/);
    });
  }

  it('refuses what is not a Uint8Array with a TypeError', () => {
    expect(() => readModuleTypes([0, 1] as never)).to.throw(TypeError, /expected a Uint8Array/);
  });

  it('never hangs and never throws anything but a CompileError on 3000 seeded corruptions', () => {
    const good = bin(
      TYPES,
      section(2, vec([[...name('host'), ...name('f'), 0x00, 0x00]])),
      section(3, vec([[0x01]])),
      section(6, vec([[I32, 1, 0x41, 0x2a, 0x0b]])),
      section(7, vec([[...name('g'), 0x03, 0x00]])),
    );
    const rand = seeded(16);
    let refused = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const bytes = good.slice(0, 8 + Math.floor(rand() * (good.length - 7)));
      for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
        const at = 8 + Math.floor(rand() * Math.max(1, bytes.length - 8));
        if (at < bytes.length) bytes[at] = Math.floor(rand() * 256);
      }
      try {
        readModuleTypes(bytes);
      } catch (err) {
        expect(err, `trial ${trial}`).to.be.instanceOf(WebAssembly.CompileError);
        refused++;
      }
    }
    expect(refused).to.be.greaterThan(1000);
  });
});
