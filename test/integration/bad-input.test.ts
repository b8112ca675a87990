/** The README's "Bad input and what it gets": one test per row, named after the row. */
import { expect } from 'chai';
import {
  ExternRef,
  ExternRefObject,
  GcHeapOutOfMemory,
  Heap,
  Instance,
  Linker,
  type ManuallyRooted,
  Module,
  type Rooted,
  RootScope,
  Store,
  WasmTrap,
} from '../../src';
import { rejectsCode, tasksFile, throwsCode, waitFor } from '../helpers';

const USE_WAT = `
(module
  (import "host" "use" (func $use (param i32) (result i32)))
  (import "host" "fail" (func $fail (param i32)))
  (func (export "use") (param i32) (result i32) (call $use (local.get 0)))
  (func (export "fail") (param i32) (call $fail (local.get 0))))`;

describe('bad input (the README table)', () => {
  let heap: Heap;
  beforeEach(async () => {
    heap = await Heap.create({ capacity: 64, batchSize: 4 });
  });
  afterEach(async () => {
    await heap.close();
  });

  const linker = (): Linker =>
    new Linker(heap.store)
      .funcWrap(
        'host',
        'use',
        { params: ['handle'], results: ['i32'] },
        (_c, r: Rooted | null) => r!.dataSync() as number,
      )
      .funcWrap('host', 'fail', { params: ['handle'], results: [] }, () => {
        throw Object.assign(new Error('host function failed'), { code: 'E_HOST' });
      });

  it(
    'a forged or random u32 passed to fromRaw or into a Wasm import: ERR_INVALID_HANDLE (a trap ' +
      'inside Wasm), never another object',
    () => {
      const live = ExternRef.newManuallyRooted(heap.store, 7);
      const use = linker()
        .instantiate(Module.fromText(USE_WAT))
        .getTypedFunc('use', { params: ['i32'], results: ['i32'] });
      for (const forged of [live.toRaw() ^ 1, live.toRaw() ^ (1 << 20), 0xdeadbeef]) {
        throwsCode(() => ExternRef.fromRaw(heap.store, forged), 'ERR_INVALID_HANDLE');
        const trap = throwsCode(() => use(forged | 0), 'ERR_WASM_TRAP');
        expect((trap.cause as { code: string }).code).to.equal('ERR_INVALID_HANDLE');
      }
      expect(use(live.toRaw() | 0)).to.equal(7);
      live.unroot();
    },
  );

  it('a handle whose object was freed: ERR_INVALID_HANDLE, even after its slot is reused', async () => {
    const old = heap.store.scope(() => ExternRef.new(heap.store, 'old').toRaw());
    await heap.gc();
    throwsCode(() => ExternRef.fromRaw(heap.store, old), 'ERR_INVALID_HANDLE');
    // Slots are reused first in, first out: the old one comes round after the other free ones.
    const fresh: ManuallyRooted[] = [];
    while (fresh.length < 64 && !fresh.some((m) => (m.toRaw() & 0x3f) === (old & 0x3f))) {
      fresh.push(ExternRef.newManuallyRooted(heap.store, fresh.length));
    }
    expect(
      fresh.some((m) => (m.toRaw() & 0x3f) === (old & 0x3f)),
      'the old slot holds a new object',
    ).to.equal(true);
    throwsCode(() => ExternRef.fromRaw(heap.store, old), 'ERR_INVALID_HANDLE');
    for (const m of fresh) m.unroot();
  });

  it('a root after its scope, a second unroot(): ERR_UNROOTED; counts unchanged', () => {
    const keep = ExternRef.newManuallyRooted(heap.store, 1);
    let scoped!: Rooted;
    {
      using _scope = new RootScope(heap.store);
      scoped = keep.toRooted();
      expect(keep.strongCount()).to.equal(2);
    }
    throwsCode(() => scoped.dataSync(), 'ERR_UNROOTED');
    const extra = keep.clone();
    extra.unroot();
    throwsCode(() => extra.unroot(), 'ERR_UNROOTED');
    expect(keep.strongCount()).to.equal(1);
    keep.unroot();
  });

  it('a root of another store or heap: ERR_CROSS_STORE', async () => {
    const other = await Heap.create();
    try {
      const foreign = ExternRef.newManuallyRooted(other.store, 'x');
      const id = new Linker(heap.store).instantiate(
        Module.fromText('(module (func (export "id") (param externref) (result externref) local.get 0))'),
      );
      throwsCode(
        () => id.getTypedFunc('id', { params: ['externref'], results: ['externref'] })(foreign),
        'ERR_CROSS_STORE',
      );
      throwsCode(() => foreign.dataSync(heap.store), 'ERR_CROSS_STORE');
      throwsCode(() => foreign.toRaw(heap.createStore()), 'ERR_CROSS_STORE');
      foreign.unroot();
    } finally {
      await other.close();
    }
  });

  it('a value that cannot be cloned: ERR_NOT_CLONEABLE at new; no slot leaked', () => {
    const before = heap.stats();
    // The types refuse both (test/types/roots.ts); a value typed unknown reaches the run-time check.
    throwsCode(() => ExternRef.new(heap.store, { fn: () => 1 } as unknown), 'ERR_NOT_CLONEABLE');
    throwsCode(() => ExternRef.newManuallyRooted(heap.store, new WeakSet() as unknown), 'ERR_NOT_CLONEABLE');
    const after = heap.stats();
    expect([after.live, after.created, after.free]).to.deep.equal([before.live, before.created, before.free]);
  });

  it('heap full: GcHeapOutOfMemory carrying the value; after gc() a retry succeeds if space was freed', async () => {
    const held = Array.from({ length: 64 }, (_, i) => ExternRef.newManuallyRooted(heap.store, i));
    const value = { big: 'value' };
    let err: unknown;
    try {
      ExternRef.new(heap.store, value);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(GcHeapOutOfMemory);
    expect((err as GcHeapOutOfMemory<typeof value>).intoInner()).to.equal(value);
    held.pop()!.unroot();
    await heap.gc();
    heap.store.scope(() =>
      expect(ExternRef.new(heap.store, (err as GcHeapOutOfMemory<typeof value>).intoInner()).dataSync()).to.deep.equal(
        value,
      ),
    );
    for (const m of held) m.unroot();
  });

  it('a worker killed at any point: its counts are released; every other thread goes on', async () => {
    const pool = heap.createPool({ filename: tasksFile, minThreads: 2, maxThreads: 2 });
    try {
      await heap.store.scope(async () => {
        const r = ExternRef.new(heap.store, 'survives');
        await pool.run('keep', r, 5);
        expect(r.strongCount()).to.be.greaterThan(1);
        for (const w of pool.workers) await w.terminate();
        await waitFor(() => r.strongCount() === 1, 'the killed workers’ counts to be released');
        expect(await pool.run('newString', 'after').then((x) => (x as Rooted).dataSync())).to.equal('after');
        expect(r.dataSync()).to.equal('survives');
      });
    } finally {
      await pool.close();
    }
  });

  it(
    'a host function that throws inside Wasm: the call traps with the cause attached; the call’s ' +
      'roots are released',
    () => {
      const fail = linker()
        .instantiate(Module.fromText(USE_WAT))
        .getTypedFunc('fail', { params: ['handle'], results: [] });
      heap.store.scope(() => {
        const r = ExternRef.new(heap.store, 1);
        const trap = throwsCode(() => fail(r), 'ERR_WASM_TRAP');
        expect(trap).to.be.instanceOf(WasmTrap);
        expect((trap.cause as { code: string; message: string }).code).to.equal('E_HOST');
        expect(r.strongCount()).to.equal(1);
      });
      expect(heap.store.rootCount).to.equal(0);
    },
  );

  it('a Store, Instance or ExternRefObject made with new instead of its factory: TypeError; nothing changes', () => {
    const a = ExternRef.newManuallyRooted(heap.store, 'A');
    const b = ExternRef.newManuallyRooted(heap.store, 'B');
    const before = [a.strongCount(), b.strongCount(), heap.stats().live];
    // The native ABI's reference, with one object's handle and another's slot: never made.
    const Forge = ExternRefObject as unknown as new (...args: unknown[]) => unknown;
    expect(() => new Forge(a.toRaw(), 0, heap.id)).to.throw(TypeError, /use ExternRefObject\.fromRoot/);
    expect(() => new Forge(Symbol('sharedref.ExternRefObject'), a.toRaw(), 0, heap.id)).to.throw(TypeError);
    expect(() => new (Store as unknown as new (...args: unknown[]) => unknown)()).to.throw(
      TypeError,
      /use heap\.store, heap\.createStore\(\), ctx\.store or attachStore\(link\)/,
    );
    expect(() => new (Store as unknown as new (...args: unknown[]) => unknown)({})).to.throw(TypeError);
    expect(() => new (Instance as unknown as new (...args: unknown[]) => unknown)(heap.store, {}, {})).to.throw(
      TypeError,
      /use linker\.instantiate\(module\)/,
    );
    expect([a.strongCount(), b.strongCount(), heap.stats().live]).to.deep.equal(before);
    a.unroot();
    b.unroot();
  });

  it('any call after heap.close(): ERR_HEAP_CLOSED', async () => {
    const h = await Heap.create();
    const m = ExternRef.newManuallyRooted(h.store, 1);
    const pool = h.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    await h.close();
    throwsCode(() => ExternRef.new(h.store, 1), 'ERR_HEAP_CLOSED');
    throwsCode(() => ExternRef.fromRaw(h.store, 1), 'ERR_HEAP_CLOSED');
    throwsCode(() => m.dataSync(), 'ERR_HEAP_CLOSED');
    await rejectsCode(m.data(), 'ERR_HEAP_CLOSED');
    await rejectsCode(h.gc(), 'ERR_HEAP_CLOSED');
    throwsCode(() => h.gcSync(), 'ERR_HEAP_CLOSED');
    throwsCode(() => h.createStore(), 'ERR_HEAP_CLOSED');
    throwsCode(() => h.createPool({ filename: tasksFile }), 'ERR_HEAP_CLOSED');
    await rejectsCode(pool.run('newString', 'x'), 'ERR_POOL_CLOSED');
    throwsCode(() => new Linker(h.store).instantiate(Module.fromText('(module)')), 'ERR_HEAP_CLOSED');
  });

  it('bad options: TypeError/RangeError naming the option and the value received', async () => {
    let err: unknown;
    await Heap.create({ capacity: -5 }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(RangeError);
    expect((err as Error).message).to.equal('options.capacity must be between 2 and 4194304, received -5');
    await Heap.create({ batchSize: 'many' } as never).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(TypeError);
    expect((err as Error).message).to.equal('options.batchSize must be an integer, received "many"');
    expect(() => heap.createPool({ filename: 42 } as never)).to.throw(
      TypeError,
      'options.filename must be the path of a worker file, received 42',
    );
    expect(() => heap.createPool({ filename: tasksFile, maxThreads: 0 })).to.throw(
      RangeError,
      'options.maxThreads must be between 1 and 1024, received 0',
    );
    expect(() => new Linker({} as never)).to.throw(TypeError, /expected a Store, received an object/);
  });
});
