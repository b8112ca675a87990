/**
 * Instance linking (Wasmtime's `Linker::instance`, tests/all/linker.rs), `funcref` in signatures,
 * and `linker.imports` for glue code that instantiates a module itself.
 */
import { expect } from 'chai';
import { ExternRef, ExternRefObject, Heap, Linker, Module, type Rooted } from '../../src';
import { throwsCode } from '../helpers';

/** Module "a": a function, a memory, a table and a global to share. */
const PROVIDER_WAT = `
(module
  (memory (export "memory") 1)
  (table (export "table") 2 externref)
  (global (export "counter") (mut i32) (i32.const 0))
  (func (export "id") (param externref) (result externref)
    (global.set 0 (i32.add (global.get 0) (i32.const 1)))
    (local.get 0))
  (func (export "answer") (result i32) (i32.const 42)))`;

/** Module "b": imports all of "a" and uses it. */
const CONSUMER_WAT = `
(module
  (import "a" "id" (func $id (param externref) (result externref)))
  (import "a" "memory" (memory 1))
  (import "a" "table" (table 2 externref))
  (import "a" "counter" (global $counter (mut i32)))
  (export "reexported" (func $id))
  (func (export "twice") (param externref) (result externref) (call $id (call $id (local.get 0))))
  (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "stash") (param externref) (table.set 0 (i32.const 1) (local.get 0)))
  (func (export "count") (result i32) (global.get $counter)))`;

describe('wasm instance linking and glue', () => {
  // One heap for the suite: each test makes its own instances and counts from its own baseline.
  let heap: Heap;
  before(async () => {
    heap = await Heap.create();
  });
  after(async () => {
    await heap.close();
  });

  const EXT = 'externref' as const;

  it("linker.instance: another module imports an instance's functions, memory, table and global", () => {
    const store = heap.store;
    const linker = new Linker(store);
    const a = linker.instantiate(Module.fromText(PROVIDER_WAT));
    const b = linker.instance('a', a).instantiate(Module.fromText(CONSUMER_WAT));
    expect(b.exports.reexported, 'a function keeps its identity').to.equal(a.exports.id);
    store.scope(() => {
      const r = ExternRef.new(store, 'through two instances');
      const twice = b.getTypedFunc('twice', { params: [EXT], results: [EXT] });
      expect(ExternRef.ptrEq(twice(r) as Rooted, r)).to.equal(true);
      expect(b.getTypedFunc('count', { params: [], results: ['i32'] })()).to.equal(2);
      expect(a.getGlobal('counter').get()).to.equal(2);
      b.getTypedFunc('poke', { params: ['i32', 'i32'], results: [] })(8, 1234);
      expect(new Int32Array(a.getMemory('memory').buffer)[2]).to.equal(1234);
      b.getTypedFunc('stash', { params: [EXT], results: [] })(r);
      expect(ExternRef.ptrEq(a.getTable('table').get(1) as Rooted, r)).to.equal(true);
    });
  });

  it('linker.instance: a function of another type is ERR_TYPE_MISMATCH naming both; another store is refused', () => {
    const store = heap.store;
    const linker = new Linker(store);
    const a = linker.instantiate(Module.fromText(PROVIDER_WAT));
    const wat = '(module (import "a" "answer" (func (param i32) (result i32))))';
    expect(
      throwsCode(() => linker.instance('a', a).instantiate(Module.fromText(wat)), 'ERR_TYPE_MISMATCH').message,
    ).to.equal(
      "import a.answer: the module's type is (func (param i32) (result i32)), but (func (result i32)) was given",
    );
    const wrongGlobal = '(module (import "a" "counter" (global i32)))';
    throwsCode(() => linker.instantiate(Module.fromText(wrongGlobal)), 'ERR_TYPE_MISMATCH');
    const other = heap.createStore();
    try {
      throwsCode(() => new Linker(other).instance('a', a), 'ERR_CROSS_STORE');
    } finally {
      other.close();
    }
  });

  it('funcref in signatures: a host function receives a Wasm function, a typed call returns one', () => {
    const store = heap.store;
    const wat = `
    (module
      (import "host" "call" (func $call (param funcref) (result i32)))
      (type $t (func (result i32)))
      (table $tab 1 funcref)
      (elem declare func $seven)
      (func $seven (export "seven") (result i32) (i32.const 7))
      (func (export "pick") (result funcref) (ref.func $seven))
      (func (export "viaHost") (result i32) (call $call (ref.func $seven)))
      (func (export "callIt") (param funcref) (result i32)
        (table.set $tab (i32.const 0) (local.get 0))
        (call_indirect $tab (type $t) (i32.const 0))))`;
    let received: unknown = null;
    const inst = new Linker(store)
      .funcWrap('host', 'call', { params: ['funcref'], results: ['i32'] }, (_c, f) => {
        received = f;
        return (f as () => number)() * 10;
      })
      .instantiate(Module.fromText(wat));
    expect(inst.getTypedFunc('viaHost', { params: [], results: ['i32'] })()).to.equal(70);
    expect(received).to.equal(inst.exports.seven);
    const picked = inst.getTypedFunc('pick', { params: [], results: ['funcref'] })();
    expect(picked).to.equal(inst.exports.seven);
    const callIt = inst.getTypedFunc('callIt', { params: ['funcref'], results: ['i32'] });
    expect(callIt(picked)).to.equal(7);
    expect(() => callIt(() => 7)).to.throw(TypeError, /callIt: expected a Wasm function \(an export of an instance\)/);
    throwsCode(() => inst.getTypedFunc('pick', { params: [], results: [EXT] }), 'ERR_TYPE_MISMATCH');
  });

  describe('linker.imports (glue code instantiates the module itself)', () => {
    const RAW_WAT = `
    (module
      (import "host" "make" (func $make (param i32) (result i32)))
      (import "host" "len" (func $len (param i32) (result i32)))
      (import "sharedref" "is_null" (func $is_null (param i32) (result i32)))
      (func (export "make") (param i32) (result i32) (call $make (local.get 0)))
      (func (export "makeAndMeasure") (param i32) (result i32) (call $len (call $make (local.get 0))))
      (func (export "isNull") (param i32) (result i32) (call $is_null (local.get 0))))`;

    it('host functions convert by their signatures, and temporaries are released when the JS run ends', async () => {
      const store = heap.store;
      const linker = new Linker(store)
        .funcWrap('host', 'make', { params: ['i32'], results: ['handle'] }, (c, n: number) =>
          ExternRef.new(c.store, 'x'.repeat(n)),
        )
        .funcWrap(
          'host',
          'len',
          { params: ['handle'], results: ['i32'] },
          (_c, r: Rooted | null) => String(r!.dataSync()).length,
        );
      const module = Module.fromText(RAW_WAT);
      const imports = linker.imports(module);
      // What glue code does: instantiate with the imports, call the exports directly.
      const { exports } = new WebAssembly.Instance(module.wasm, imports);
      const before = store.rootCount;
      const measure = exports.makeAndMeasure as (n: number) => number;
      expect([measure(3), measure(5), (exports.isNull as (h: number) => number)(0)]).to.deep.equal([3, 5, 1]);
      const h = (exports.make as (n: number) => number)(4) >>> 0;
      const kept = ExternRef.fromRaw(store, h)!.toManuallyRooted(); // still valid in this run of JS
      expect(store.rootCount - before, 'three temporaries and our roots, until the run ends').to.equal(5);
      await Promise.resolve();
      expect(store.rootCount - before, 'the temporaries were released; our roots stay').to.equal(2);
      expect(kept.dataSync()).to.equal('xxxx');
      kept.unroot();
    });

    it('the imports are checked as instantiate checks them', () => {
      const store = heap.store;
      const module = Module.fromText(RAW_WAT);
      const err = throwsCode(() => new Linker(store).imports(module), 'ERR_MISSING_IMPORT');
      expect(err.message).to.include('host.make (function)').and.include('host.len (function)');
      const wrong = new Linker(store)
        .funcWrap('host', 'make', { params: ['i32'], results: [EXT] }, () => null)
        .funcWrap('host', 'len', { params: ['handle'], results: ['i32'] }, () => 0);
      throwsCode(() => wrong.imports(module), 'ERR_TYPE_MISMATCH');
      expect(() => new Linker(store).imports({} as never)).to.throw(TypeError, /imports: expected a Module/);
    });

    it('native ABI: ExternRefObject.fromRoot gives the guest its reference, toRooted takes one back', () => {
      const store = heap.store;
      const wat = `(module
        (import "host" "tag" (func $tag (param externref) (result externref)))
        (func (export "tag") (param externref) (result externref) (call $tag (local.get 0))))`;
      const linker = new Linker(store).funcWrap(
        'host',
        'tag',
        { params: [EXT], results: [EXT] },
        (c, r: Rooted | null) => ExternRef.new(c.store, `<${String(r!.dataSync())}>`),
      );
      const module = Module.fromText(wat);
      const { exports } = new WebAssembly.Instance(module.wasm, linker.imports(module));
      store.scope(() => {
        const r = ExternRef.new(store, 'b');
        const out = (exports.tag as (x: unknown) => unknown)(ExternRefObject.fromRoot(r));
        expect(ExternRefObject.toRooted(store, out)!.dataSync()).to.equal('<b>');
        expect(ExternRefObject.fromRoot(null)).to.equal(null);
        expect(ExternRefObject.toRooted(store, null)).to.equal(null);
        expect(() => ExternRefObject.fromRoot('b' as never)).to.throw(
          TypeError,
          /expected a root or null, received "b"/,
        );
        throwsCode(() => ExternRefObject.toRooted(store, { not: 'ours' }), 'ERR_INVALID_HANDLE');
      });
    });
  });
});
