/**
 * Host access to tables and globals (Wasmtime's `Table` and `Global`, tests/all/table.rs,
 * globals.rs, externref.rs): roots in, roots out, counts right in both ABIs, bad values refused
 * before anything changes.
 */
import { expect } from 'chai';
import {
  ExternRef,
  ExternRefObject,
  Global,
  Heap,
  Linker,
  type ManuallyRooted,
  Module,
  type Rooted,
  Table,
  type WasmFunction,
} from '../../src';
import { throwsCode, waitFor } from '../helpers';
import { TABLE_WAT } from '../fixtures/wat';

const gc = (globalThis as { gc?: () => void }).gc;

/** Lets V8 collect unreachable guest objects and run their finalizers, until `done()`. */
async function collectV8Until(done: () => boolean, what: string): Promise<void> {
  await waitFor(() => {
    gc?.();
    return done();
  }, what);
}

/** A guest that keeps references in an imported table and global, and in its own (both ABIs). */
const HOLDER_WAT = `
(module
  (import "sharedref" "clone" (func $clone (param i32) (result i32)))
  (import "sharedref" "drop" (func $drop (param i32)))
  (import "env" "t" (table $it 2 externref))
  (import "env" "g" (global $ig (mut externref)))
  (global $g (export "g") (mut externref) (ref.null extern))
  (global $c (export "c") externref (ref.null extern))
  (global $h (export "h") (mut i32) (i32.const 0))
  (func (export "getT") (param i32) (result externref) (table.get $it (local.get 0)))
  (func (export "setT") (param i32 externref) (table.set $it (local.get 0) (local.get 1)))
  (func (export "getIG") (result externref) (global.get $ig))
  (func (export "getG") (result externref) (global.get $g))
  (func (export "setG") (param externref) (global.set $g (local.get 0)))
  (func (export "getH") (result i32) (global.get $h))
  (func (export "keepH") (param i32) (call $drop (global.get $h)) (global.set $h (call $clone (local.get 0))))
  (func (export "setHUncounted") (param i32) (global.set $h (local.get 0))))`;

describe('wasm tables and globals from the host', () => {
  // One heap for the suite: each test makes its own instances and counts from its own baseline.
  let heap: Heap;
  before(async () => {
    heap = await Heap.create();
  });
  after(async () => {
    await heap.close();
  });

  const EXT = 'externref' as const;

  it("a guest's externref table: get gives a root, set takes one, null is null, out of range is a RangeError", () => {
    const store = heap.store;
    const inst = new Linker(store).instantiate(Module.fromText(TABLE_WAT));
    const get = inst.getTypedFunc('get', { params: ['i32'], results: [EXT] });
    const set = inst.getTypedFunc('set', { params: ['i32', EXT], results: [] });
    const table = inst.getTable('table');
    expect([table.size(), table.element, table.maximum]).to.deep.equal([4, 'externref', null]);
    store.scope(() => {
      const a = ExternRef.new(store, 'a');
      table.set(0, a);
      expect(ExternRef.ptrEq(get(0) as Rooted, a), 'the guest sees what the host set').to.equal(true);
      const b = ExternRef.new(store, 'b');
      set(1, b);
      const got = table.get(1) as Rooted;
      expect(ExternRef.ptrEq(got, b), 'the host sees what the guest set').to.equal(true);
      expect(got.dataSync()).to.equal('b');
      expect(table.get(2)).to.equal(null);
      table.set(0, null);
      expect(get(0)).to.equal(null);
      expect(() => table.get(4)).to.throw(
        RangeError,
        /Table.get: index 4 is out of bounds \(the table has 4 elements\)/,
      );
      expect(() => table.set(-1, a)).to.throw(TypeError, /index must be an integer/);
    });
    expect(() => inst.getTable('get')).to.throw(
      TypeError,
      /no table named "get" \(its export of that name is a function\)/,
    );
    throwsCode(() => inst.getTable('table', 'funcref'), 'ERR_TYPE_MISMATCH');
  });

  it('a bad value changes nothing: a number, a bare guest object, a root of another store', async () => {
    const store = heap.store;
    const inst = new Linker(store).instantiate(Module.fromText(TABLE_WAT));
    const table = inst.getTable('table');
    const other = heap.createStore();
    try {
      store.scope(() => {
        const a = ExternRef.new(store, 'a');
        table.set(0, a);
        expect(() => table.set(0, 5 as never)).to.throw(TypeError, /Table.set: expected a root or null, received 5/);
        const guestObject = ExternRefObject.fromRoot(a);
        expect(() => table.set(0, guestObject as never)).to.throw(TypeError, /a guest object: take a root of it/);
        const foreign = ExternRef.new(other, 'x');
        throwsCode(() => table.set(0, foreign), 'ERR_CROSS_STORE');
        expect(() => table.fill(2, a, 3)).to.throw(RangeError, /elements 2 to 4 are out of bounds/);
        expect(() => table.grow(1, 'text' as never)).to.throw(TypeError, /expected a root or null/);
        expect(table.size()).to.equal(4);
        expect(ExternRef.ptrEq(table.get(0) as Rooted, a)).to.equal(true);
      });
    } finally {
      other.close();
    }
  });

  it('table_set_doesnt_leak: fill and grow make one guest object for all slots; clearing releases it', async () => {
    const store = heap.store;
    const table = new Linker(store).instantiate(Module.fromText(TABLE_WAT)).getTable('table');
    const m = ExternRef.newManuallyRooted(store, 'shared');
    store.scope(() => {
      table.fill(0, m.toRooted(), 4);
      expect(table.grow(4, m.toRooted())).to.equal(4);
      expect(table.size()).to.equal(8);
    });
    expect(m.strongCount(), 'our root and the one guest object for all 8 slots').to.equal(2);
    store.scope(() => {
      for (let i = 0; i < 8; i++) expect(ExternRef.ptrEq(table.get(i) as Rooted, m)).to.equal(true);
      expect(m.strongCount(), 'inside the scope: 8 roots from get').to.equal(10);
    });
    expect(m.strongCount(), 'the roots get made are released with their scope').to.equal(2);
    table.fill(0, null, 8);
    await collectV8Until(() => m.strongCount() === 1, 'the table’s guest object to be collected');
    m.unroot();
  });

  it('a host-made Table: imported by a guest, type-checked, grown up to its maximum and no further', () => {
    const store = heap.store;
    const table = new Table(store, { element: 'externref', initial: 2, maximum: 3 });
    const g = new Global(store, { value: 'externref', mutable: true });
    const linker = new Linker(store).define('env', 't', table).define('env', 'g', g);
    const inst = linker.instantiate(Module.fromText(HOLDER_WAT));
    const getT = inst.getTypedFunc('getT', { params: ['i32'], results: [EXT] });
    store.scope(() => {
      const r = ExternRef.new(store, 'in a host table');
      table.set(1, r);
      expect(ExternRef.ptrEq(getT(1) as Rooted, r)).to.equal(true);
      expect(getT(0)).to.equal(null);
      expect(table.grow(1)).to.equal(2);
      expect(() => table.grow(1)).to.throw(RangeError, /cannot grow from 3 by 1 elements \(the maximum is 3\)/);
      expect(table.size()).to.equal(3);
    });
    // The module imports (table 2 externref): a funcref table, or one of a larger maximum, does not fit.
    const funcs = new Table(store, { element: 'funcref', initial: 2 });
    const wrong = new Linker(store).define('env', 't', funcs).define('env', 'g', g);
    expect(throwsCode(() => wrong.instantiate(Module.fromText(HOLDER_WAT)), 'ERR_TYPE_MISMATCH').message).to.equal(
      "import env.t: the module's type is (table 2 externref), but (table 2 funcref) was given",
    );
    const small = new Linker(store).define('env', 't', new Table(store, { element: 'externref', initial: 1 }));
    throwsCode(() => small.define('env', 'g', g).instantiate(Module.fromText(HOLDER_WAT)), 'ERR_TYPE_MISMATCH');
    expect(() => new Table(store, { element: 'anyref', initial: 1 } as never)).to.throw(
      TypeError,
      /options.element must be 'externref' or 'funcref', received "anyref"/,
    );
    expect(() => new Table(store, { element: 'externref', initial: 4, maximum: 2 })).to.throw(RangeError);
  });

  it('Table.copy copies guest objects as they are, within bounds and element types', () => {
    const store = heap.store;
    const a = new Table(store, { element: 'externref', initial: 3 });
    const b = new Table(store, { element: 'externref', initial: 3 });
    const f = new Table(store, { element: 'funcref', initial: 3 });
    store.scope(() => {
      const r = ExternRef.new(store, 'r');
      a.set(0, r);
      a.set(1, r);
      Table.copy(b, 1, a, 0, 2);
      expect([b.get(0), ExternRef.ptrEq(b.get(1) as Rooted, r), ExternRef.ptrEq(b.get(2) as Rooted, r)]).to.deep.equal([
        null,
        true,
        true,
      ]);
      expect(() => Table.copy(f, 0, a, 0, 1)).to.throw(TypeError, /type mismatch: the source holds externref/);
      expect(() => Table.copy(b, 2, a, 0, 2)).to.throw(RangeError, /destination elements 2 to 3 are out of bounds/);
    });
  });

  it("a guest's globals: get and set with roots; an immutable one refuses set; types are checked", () => {
    const store = heap.store;
    const table = new Table(store, { element: 'externref', initial: 2 });
    const imported = new Global(store, { value: 'externref', mutable: true });
    const inst = new Linker(store)
      .define('env', 't', table)
      .define('env', 'g', imported)
      .instantiate(Module.fromText(HOLDER_WAT));
    const getG = inst.getTypedFunc('getG', { params: [], results: [EXT] });
    const setG = inst.getTypedFunc('setG', { params: [EXT], results: [] });
    const getIG = inst.getTypedFunc('getIG', { params: [], results: [EXT] });
    const g = inst.getGlobal('g');
    expect([g.value, g.mutable]).to.deep.equal(['externref', true]);
    store.scope(() => {
      const r = ExternRef.new(store, 'r');
      g.set(r);
      expect(ExternRef.ptrEq(getG() as Rooted, r)).to.equal(true);
      const s = ExternRef.new(store, 's');
      setG(s);
      expect(ExternRef.ptrEq(g.get() as Rooted, s)).to.equal(true);
      g.set(null);
      expect(getG()).to.equal(null);
      imported.set(r);
      expect(ExternRef.ptrEq(getIG() as Rooted, r)).to.equal(true);
      const c = inst.getGlobal('c');
      expect(c.get()).to.equal(null);
      expect(() => c.set(r)).to.throw(TypeError, /Global.set: the global is immutable/);
      expect(() => g.set(1)).to.throw(TypeError, /Global.set: expected a root or null, received 1/);
    });
    expect(throwsCode(() => inst.getGlobal('g', 'handle'), 'ERR_TYPE_MISMATCH').message).to.equal(
      'export "g": the module\'s type is (global (mut externref)), but (global handle) was given',
    );
    // An immutable global where the module imports a mutable one.
    const konst = new Global(store, { value: 'externref' });
    expect(
      throwsCode(
        () =>
          new Linker(store)
            .define('env', 't', table)
            .define('env', 'g', konst)
            .instantiate(Module.fromText(HOLDER_WAT)),
        'ERR_TYPE_MISMATCH',
      ).message,
    ).to.equal("import env.g: the module's type is (global (mut externref)), but (global externref) was given");
  });

  it('numeric globals keep their JS types: numbers, and BigInts for i64', () => {
    const store = heap.store;
    const i = new Global(store, { value: 'i32', mutable: true }, 7);
    const l = new Global(store, { value: 'i64', mutable: true }, 2n);
    const f = new Global(store, { value: 'f64' }, 0.5);
    i.set(8);
    l.set(3n);
    expect([i.get(), l.get(), f.get(), i.type, f.type]).to.deep.equal([
      8,
      3n,
      0.5,
      { value: 'i32', mutable: true },
      { value: 'f64', mutable: false },
    ]);
    expect(() => l.set(3 as never)).to.throw(TypeError, /expected a BigInt for an i64, received 3/);
    expect(() => new Global(store, { value: 'v128' } as never)).to.throw(TypeError, /options.value must be one of/);
  });

  it('a handle global (raw ABI) owns one count, shared with the guest’s sharedref.clone and drop', () => {
    const store = heap.store;
    const table = new Table(store, { element: 'externref', initial: 2 });
    const g0 = new Global(store, { value: 'externref', mutable: true });
    const inst = new Linker(store)
      .define('env', 't', table)
      .define('env', 'g', g0)
      .instantiate(Module.fromText(HOLDER_WAT));
    const getH = inst.getTypedFunc('getH', { params: [], results: ['handle'] });
    const keepH = inst.getTypedFunc('keepH', { params: ['handle'], results: [] });
    const setHUncounted = inst.getTypedFunc('setHUncounted', { params: ['i32'], results: [] });
    const h = inst.getGlobal('h', 'handle');
    const a: ManuallyRooted = ExternRef.newManuallyRooted(store, 'a');
    const b: ManuallyRooted = ExternRef.newManuallyRooted(store, 'b');
    const before = store.rootCount;
    store.scope(() => h.set(a.toRooted()));
    expect(a.strongCount(), 'a and the global’s count').to.equal(2);
    store.scope(() => expect(ExternRef.ptrEq(getH() as Rooted, a)).to.equal(true));
    store.scope(() => keepH(b.toRooted())); // the guest drops the host's count and clones b
    expect([a.strongCount(), b.strongCount()]).to.deep.equal([1, 2]);
    store.scope(() => expect(ExternRef.ptrEq(h.get() as Rooted, b)).to.equal(true));
    h.set(null);
    expect(b.strongCount()).to.equal(1);
    expect(store.rootCount).to.equal(before);
    // A handle the guest stored without a count of this store's: set refuses it, and changes nothing.
    setHUncounted(a.toRaw());
    store.scope(() => throwsCode(() => h.set(b.toRooted()), 'ERR_CROSS_STORE'));
    expect([a.strongCount(), b.strongCount(), (h.wasm.value as number) >>> 0]).to.deep.equal([1, 1, a.toRaw()]);
    setHUncounted(0);
    a.unroot();
    b.unroot();
    expect(store.rootCount).to.equal(before - 2);
  });

  it('a funcref table and global take Wasm functions only', () => {
    const store = heap.store;
    const inst = new Linker(store).instantiate(
      Module.fromText('(module (func (export "f") (result i32) (i32.const 9)))'),
    );
    const t = new Table(store, { element: 'funcref', initial: 1 });
    t.set(0, inst.exports.f as WasmFunction);
    expect(t.get(0)).to.equal(inst.exports.f);
    expect(() => t.set(0, () => 9)).to.throw(
      TypeError,
      /expected a Wasm function \(an export of an instance\) or null/,
    );
    const g = new Global(store, { value: 'funcref', mutable: true }, inst.exports.f as WasmFunction);
    expect(g.get()).to.equal(inst.exports.f);
    g.set(null);
    expect(g.get()).to.equal(null);
  });

  it('a bare root where a guest needs a reference fails at once with a clear error', () => {
    const store = heap.store;
    store.scope(() => {
      const r = ExternRef.new(store, 'r');
      const rawGlobal = new WebAssembly.Global({ value: 'externref', mutable: true }, r);
      expect(() => new Linker(store).define('env', 'g', rawGlobal)).to.throw(
        TypeError,
        /define\("env", "g"\): the global's value is a bare Rooted/,
      );
      const rawTable = new WebAssembly.Table({ element: 'externref', initial: 2 }, null);
      rawTable.set(1, r);
      expect(() => new Linker(store).define('env', 't', rawTable)).to.throw(
        TypeError,
        /element 1 of the table is a bare Rooted/,
      );
      // A root passed straight to a raw export reaches a host function, which refuses it.
      const wat = `(module (import "host" "use" (func $use (param externref)))
        (func (export "f") (param externref) (call $use (local.get 0))))`;
      const inst = new Linker(store)
        .funcWrap('host', 'use', { params: [EXT], results: [] }, () => undefined)
        .instantiate(Module.fromText(wat));
      const trap = throwsCode(() => (inst.exports.f as (x: unknown) => void)(r), 'ERR_WASM_TRAP');
      expect((trap.cause as Error).message).to.match(/received a bare Rooted where a Wasm reference is required/);
      // Through ExternRefObject.fromRoot it works.
      expect(() => (inst.exports.f as (x: unknown) => void)(ExternRefObject.fromRoot(r))).not.to.throw();
    });
  });
});
