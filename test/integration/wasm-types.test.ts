/**
 * Type-checked linking (Wasmtime's `typed()` and its linker): signatures against the module's
 * types, at `getTypedFunc` and at `instantiate`; the proposals `Module.fromText` enables; modules
 * that travel without their bytes.
 */
import { expect } from 'chai';
import { ExternRef, Heap, Linker, Module, type Rooted, TypeMismatchError, WAT_FEATURES } from '../../src';
import { throwsCode } from '../helpers';
import { IDENTITY_WAT, SEED_RAW_WAT, SEED_WAT } from '../fixtures/wat';

describe('wasm type checks', () => {
  // One heap for the suite: each test makes its own instances, and none closes it.
  let heap: Heap;
  before(async () => {
    heap = await Heap.create();
  });
  after(async () => {
    await heap.close();
  });

  describe('getTypedFunc', () => {
    it('refuses a signature that differs from the export’s type, naming the export and both types', () => {
      const inst = new Linker(heap.store).instantiate(Module.fromText(IDENTITY_WAT));
      const cases: Array<[string, { params: string[]; results: string[] }, string, string]> = [
        [
          'id',
          { params: ['i32'], results: ['externref'] },
          '(func (param externref) (result externref))',
          '(func (param i32) (result externref))',
        ],
        [
          'id',
          { params: ['externref'], results: ['i32'] },
          '(func (param externref) (result externref))',
          '(func (param externref) (result i32))',
        ],
        [
          'id',
          { params: ['handle'], results: ['handle'] },
          '(func (param externref) (result externref))',
          '(func (param handle) (result handle))',
        ],
        [
          'idRaw',
          { params: ['externref'], results: ['externref'] },
          '(func (param i32) (result i32))',
          '(func (param externref) (result externref))',
        ],
        ['idRaw', { params: ['i32'], results: [] }, '(func (param i32) (result i32))', '(func (param i32))'],
      ];
      for (const [name, sig, expected, given] of cases) {
        const err = throwsCode(() => inst.getTypedFunc(name, sig as never), 'ERR_TYPE_MISMATCH');
        expect(err).to.be.instanceOf(TypeMismatchError);
        expect(err.message).to.equal(`export "${name}": the module's type is ${expected}, but ${given} was given`);
      }
    });

    it('accepts handle or i32 for an i32, and only externref for an externref', () => {
      const inst = new Linker(heap.store).instantiate(Module.fromText(IDENTITY_WAT));
      heap.store.scope(() => {
        const r = ExternRef.new(heap.store, 'x');
        expect(inst.getTypedFunc('idRaw', { params: ['i32'], results: ['i32'] })(7)).to.equal(7);
        const raw = inst.getTypedFunc('idRaw', { params: ['handle'], results: ['handle'] })(r) as Rooted;
        expect(ExternRef.ptrEq(raw, r)).to.equal(true);
        const ext = inst.getTypedFunc('id', { params: ['externref'], results: ['externref'] })(r) as Rooted;
        expect(ExternRef.ptrEq(ext, r)).to.equal(true);
      });
    });

    it('names a missing export, or an export of another kind, with a TypeError', () => {
      const inst = new Linker(heap.store).instantiate(Module.fromText('(module (memory (export "f") 1))'));
      expect(() => inst.getTypedFunc('g', { params: [], results: [] })).to.throw(TypeError, /no function named "g"$/);
      expect(() => inst.getTypedFunc('f', { params: [], results: [] })).to.throw(
        TypeError,
        /no function named "f" \(its export of that name is a memory\)/,
      );
    });
  });

  describe('instantiate', () => {
    it('refuses a funcWrap signature that differs from the import’s type, before anything runs', () => {
      let called = 0;
      const linker = new Linker(heap.store).funcWrap(
        'host-string',
        'concat',
        { params: ['handle', 'handle'], results: ['handle'] },
        () => {
          called++;
          return null;
        },
      );
      const err = throwsCode(() => linker.instantiate(Module.fromText(SEED_WAT)), 'ERR_TYPE_MISMATCH');
      expect(err.message).to.equal(
        "import host-string.concat: the module's type is (func (param externref externref) (result externref)), " +
          'but (func (param handle handle) (result handle)) was given',
      );
      // The same signature fits the raw-ABI twin.
      expect(() => linker.instantiate(Module.fromText(SEED_RAW_WAT))).not.to.throw();
      expect(called).to.equal(0);
    });

    it('refuses a definition of the wrong kind, and a sharedref import of the wrong type', () => {
      const memory = new WebAssembly.Memory({ initial: 1 });
      const linker = new Linker(heap.store).define('host-string', 'concat', memory);
      expect(throwsCode(() => linker.instantiate(Module.fromText(SEED_WAT)), 'ERR_TYPE_MISMATCH').message).to.equal(
        "import host-string.concat: the module's type is (func (param externref externref) (result externref)), " +
          'but a memory was given',
      );
      const wat = '(module (import "sharedref" "clone" (func (param externref) (result externref))))';
      expect(throwsCode(() => linker.instantiate(Module.fromText(wat)), 'ERR_TYPE_MISMATCH').message).to.equal(
        "import sharedref.clone: the module's type is (func (param externref) (result externref)), " +
          'but (func (param i32) (result i32)) was given',
      );
    });

    it('refuses a memory that is not shared where the module imports a shared one', () => {
      const wat = '(module (import "env" "memory" (memory 1 1 shared)))';
      const linker = new Linker(heap.store).define('env', 'memory', new WebAssembly.Memory({ initial: 1 }));
      expect(throwsCode(() => linker.instantiate(Module.fromText(wat)), 'ERR_TYPE_MISMATCH').message).to.equal(
        "import env.memory: the module's type is (memory 1 1 shared), but an unshared memory of 1 pages was given",
      );
    });
  });

  describe('modules without their bytes', () => {
    it('Module.fromCompiled with the bytes keeps the checks; with other bytes it is a TypeError', () => {
      const mod = Module.fromText(IDENTITY_WAT);
      const again = Module.fromCompiled(mod.wasm, mod.bytes);
      expect(again.types).to.deep.equal(mod.types);
      const inst = new Linker(heap.store).instantiate(again);
      throwsCode(() => inst.getTypedFunc('id', { params: ['i32'], results: ['i32'] }), 'ERR_TYPE_MISMATCH');
      const other = Module.fromText('(module (func (export "x")))');
      expect(() => Module.fromCompiled(mod.wasm, other.bytes)).to.throw(
        TypeError,
        /the bytes are not this module's \(exports x:function against id:function, idRaw:function\)/,
      );
    });

    it('Module.fromCompiled without bytes has no types: only the arity is checked', () => {
      const bare = Module.fromCompiled(Module.fromText(IDENTITY_WAT).wasm);
      expect(bare.types).to.equal(null);
      const inst = new Linker(heap.store).instantiate(bare);
      expect(() => inst.getTypedFunc('idRaw', { params: ['i32'], results: ['i32'] })).not.to.throw();
      expect(
        throwsCode(() => inst.getTypedFunc('id', { params: [], results: [] }), 'ERR_TYPE_MISMATCH').message,
      ).to.match(/module's type is a function of 1 parameters/);
      expect(() => inst.getTable('t')).to.throw(TypeError, /no table named "t"/);
    });

    it('Module.fromBinary compares a cache hit in full, and copies the caller’s bytes', () => {
      const bytes = Module.fromText(IDENTITY_WAT).bytes!.slice();
      const a = Module.fromBinary(bytes);
      expect(Module.fromBinary(bytes.slice())).to.equal(a);
      bytes.fill(0);
      expect(a.types!.exports.map((e) => e.name)).to.deep.equal(['id', 'idRaw']);
      expect(() => Module.fromBinary('wasm' as never)).to.throw(TypeError, /expected a Uint8Array or ArrayBuffer/);
    });
  });

  describe('Module.fromText', () => {
    const proposals: Record<string, string> = {
      tail_call: '(module (func $g) (func (export "f") return_call $g))',
      simd: '(module (func (export "f") (result i32) (i32x4.extract_lane 1 (i32x4.splat (i32.const 7)))))',
      exceptions:
        '(module (tag $e (param i32)) (func (export "f") (result i32) ' +
        '(try (result i32) (do (throw $e (i32.const 7))) (catch $e))))',
      sign_extension: '(module (func (export "f") (result i32) (i32.extend8_s (i32.const 0x87))))',
      sat_float_to_int: '(module (func (export "f") (result i32) (i32.trunc_sat_f32_s (f32.const 1e10))))',
      mutable_globals: '(module (global (export "g") (mut i32) (i32.const 0)) (func (export "f")))',
      threads: '(module (memory 1 1 shared) (func (export "f") (result i32) (i32.atomic.load (i32.const 0))))',
      bulk_memory: '(module (memory 1) (func (export "f") (memory.fill (i32.const 0) (i32.const 1) (i32.const 4))))',
      multi_value: '(module (func (export "f") (result i32 i32) (i32.const 1) (i32.const 2)))',
      reference_types: '(module (func (export "f") (result externref) (ref.null extern)))',
    };
    it('compiles every proposal V8 11.3 validates, and lists exactly those in WAT_FEATURES', () => {
      expect(Object.keys(WAT_FEATURES).sort()).to.deep.equal(Object.keys(proposals).sort());
      for (const [name, wat] of Object.entries(proposals)) {
        const inst = new Linker(heap.store).instantiate(Module.fromText(wat));
        expect(inst.exports.f, name).to.be.a('function');
      }
      // The issue's example: a tail call runs.
      const tail = Module.fromText(
        '(module (func $g (result i32) (i32.const 5)) (func (export "f") (result i32) return_call $g))',
      );
      expect(new Linker(heap.store).instantiate(tail).getTypedFunc('f', { params: [], results: ['i32'] })()).to.equal(
        5,
      );
    });
  });
});
