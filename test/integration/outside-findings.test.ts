/**
 * Regression tests for what outside testing found (an adversary, real toolchains): one test per
 * finding, each named after the behaviour it guards. The adversarial property tests
 * (test/property/adversary*.ts) generate these classes of fault; these pin the instances.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { MessageChannel } from 'node:worker_threads';
import { attachStore, ExternRef, Heap, Module, Rooted, type Pool, type SharedRefError } from '../../src';
import { hostModule, rejectsCode, tasksFile, throwsCode } from '../helpers';

/** The host module's disposal log, from the coordinator. */
async function disposedIds(heap: Heap): Promise<number[]> {
  return heap.store.scope(
    async () => (await (await ExternRef.newWith(heap.store, 'disposalLog')).call('entries')) as number[],
  );
}

describe('outside findings: values and objects', () => {
  let heap: Heap;
  afterEach(async () => {
    await heap?.close();
  });

  it("a newWith whose store closes mid-factory disposes its value and never touches the slot's next one", async () => {
    heap = await Heap.create({ hostModule, capacity: 64, batchSize: 1 });
    const dying = heap.createStore();
    const pending = ExternRef.newWith(dying, 'slowTracked', 1001, 150).then(
      () => expect.fail('the construction of a closed store resolved'),
      (err: unknown) => (err as SharedRefError).code,
    );
    await new Promise((r) => setTimeout(r, 20)); // the factory is running
    dying.close(); // its reserved slot is reclaimed now
    expect(['ERR_STORE_CLOSED', 'ERR_HEAP_CLOSED']).to.include(await pending);
    await heap.gc();
    // Another store's new objects take the slots, the dead store's included, before the factory returns.
    const others = Array.from({ length: 63 }, (_, i) => ExternRef.newManuallyRooted(heap.store, { other: i }));
    let log: number[] = [];
    for (let t = 0; t < 200 && !log.includes(1001); t++) {
      await new Promise((r) => setTimeout(r, 10));
      log = await disposedIds(heap);
    }
    expect(
      log.filter((id) => id === 1001),
      'the late value is disposed, once',
    ).to.have.length(1);
    for (const [i, m] of others.entries()) {
      expect(m.dataSync(), 'a later object keeps its own value').to.deep.equal({ other: i });
    }
    for (const m of others) m.unroot();
    await heap.gc();
    expect(heap.stats().live).to.equal(0);
  });

  it('a call on plain data is serialized with a dataMut whose fn awaits: neither update is lost', async () => {
    heap = await Heap.create();
    const list = ExternRef.newManuallyRooted(heap.store, [] as number[]);
    const slow = list.dataMut(async (v: number[]) => {
      await new Promise((r) => setTimeout(r, 150));
      return [...v, 1];
    });
    await new Promise((r) => setTimeout(r, 10)); // the lease is held
    const push = list.call('push', 2);
    await Promise.all([slow, push]);
    expect(list.dataSync()).to.deep.equal([1, 2]);
    list.unroot();
  });

  it("the object a dataMut fn returned stays the caller's: changing it later changes nobody's view", async () => {
    heap = await Heap.create();
    const r = ExternRef.newManuallyRooted(heap.store, { n: 1 });
    const got = await r.dataMut((v: { n: number }) => ({ n: v.n + 1 }));
    got.n = 99;
    const synced = r.dataMutSync((v: { n: number }) => ({ n: v.n + 1 }));
    synced.n = -1;
    expect(r.dataSync()).to.deep.equal({ n: 3 }); // this thread's cache
    const other = heap.createStore();
    expect(ExternRef.fromRaw(other, r.toRaw())!.dataSync()).to.deep.equal({ n: 3 }); // another store
    other.close();
    r.unroot();
  });

  it('typeOf follows a commit that changes the type of the value', async () => {
    heap = await Heap.create();
    // Untyped on purpose: the commits below change the value's type, which a typed root refuses.
    const r = ExternRef.newManuallyRooted<unknown>(heap.store, 1);
    expect(r.typeOf()).to.equal('number');
    r.dataMutSync(() => new Map([[1, 2]]));
    expect(r.typeOf()).to.equal('Map');
    await r.dataMut(() => 'text');
    expect(r.typeOf()).to.equal('string');
    expect(ExternRef.fromRaw(heap.createStore(), r.toRaw())!.typeOf(), 'seen from another store').to.equal('string');
    r.unroot();
  });

  it('typeOf gives long and non-ASCII class names back whole, and tells apart names sharing 64 bytes', async () => {
    heap = await Heap.create({ hostModule });
    const names = [
      `A_${'x'.repeat(100)}_one`,
      `A_${'x'.repeat(100)}_two`,
      'Ünïcødé_Ωμέγα_値_𝒮𝓊𝓇𝓇𝑜𝑔𝒶𝓉𝑒',
      `${'é'.repeat(31)}z`, // 63 bytes then a two-byte character: a cut at 64 would split it
      `Huge_${'y'.repeat(70_000)}`, // larger than the shared arena: the coordinator answers it
    ];
    await heap.store.scope(async () => {
      for (const name of names) {
        const r = await ExternRef.newWith(heap.store, 'named', name);
        expect(r.typeOf()).to.equal(name);
        const other = heap.createStore();
        expect(ExternRef.fromRaw(other, r.toRaw())!.typeOf(), 'from a store that never saw it').to.equal(name);
        other.close();
      }
    });
  });
});

describe('outside findings: nothing waits forever (I8)', () => {
  let heap: Heap;
  afterEach(async () => {
    await heap?.close();
  });

  it('close() settles while a call never settles, and the call rejects with ERR_HEAP_CLOSED', async () => {
    heap = await Heap.create({ hostModule, userCodeTimeoutMs: 300 });
    const s = await heap.store.scope(async () => (await ExternRef.newWith(heap.store, 'stuck', 1)).toManuallyRooted());
    const hung = s.call('hang');
    await new Promise((r) => setTimeout(r, 20));
    const closed = heap.close(); // waits for the running method at most userCodeTimeoutMs, then disposes
    await rejectsCode(hung, 'ERR_HEAP_CLOSED'); // at once, not when the method gives up
    await closed;
  });

  it('a method overstaying userCodeTimeoutMs fails with ERR_CALL_TIMEOUT and is counted; the next runs', async () => {
    heap = await Heap.create({ hostModule, userCodeTimeoutMs: 100 });
    const s = await heap.store.scope(async () => (await ExternRef.newWith(heap.store, 'stuck', 2)).toManuallyRooted());
    const before = heap.stats().abandoned;
    const hung = s.call('hang');
    const next = s.call('ping');
    await rejectsCode(hung, 'ERR_CALL_TIMEOUT');
    expect(await next).to.equal(2);
    throwsCode(() => s.callSync('hang'), 'ERR_CALL_TIMEOUT');
    expect(heap.stats().abandoned - before).to.equal(2);
    s.unroot();
  });

  it('gc() and gcSync() settle when they free an object whose call or async disposer never settles', async () => {
    heap = await Heap.create({ hostModule, userCodeTimeoutMs: 100 });
    const a = await heap.store.scope(async () => (await ExternRef.newWith(heap.store, 'stuck', 3)).toManuallyRooted());
    const b = await heap.store.scope(async () =>
      (await ExternRef.newWith(heap.store, 'stuck', 4, true)).toManuallyRooted(),
    );
    const hung = a.call('hang').catch((err: unknown) => (err as SharedRefError).code);
    await new Promise((r) => setTimeout(r, 20)); // the method runs
    a.unroot();
    b.unroot();
    const report = await heap.gc(); // waits for the abandoned call and the disposer at most 100 ms each
    expect(report.freed).to.equal(2);
    expect(await hung).to.equal('ERR_CALL_TIMEOUT');
    const c = await heap.store.scope(async () =>
      (await ExternRef.newWith(heap.store, 'stuck', 5, true)).toManuallyRooted(),
    );
    c.unroot();
    expect(heap.gcSync().freed, 'gcSync answers without waiting for async disposers').to.equal(1);
  });

  it('an overstaying method is reported through NODE_DEBUG=sharedref', function () {
    this.timeout(60_000);
    const script = `
      const { Heap, ExternRef } = require(${JSON.stringify(join(__dirname, '..', '..', 'src'))});
      (async () => {
        const heap = await Heap.create({ hostModule: ${JSON.stringify(hostModule)}, userCodeTimeoutMs: 50 });
        await heap.store.scope(async () => {
          const s = await ExternRef.newWith(heap.store, 'stuck', 6);
          await s.call('hang').catch(() => undefined);
        });
        await heap.close();
      })();`;
    const out = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      env: { ...process.env, NODE_DEBUG: 'sharedref', TS_NODE_PROJECT: 'tsconfig.test.json' },
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(out.status, out.stderr).to.equal(0);
    expect(out.stderr).to.match(/abandoned call\("hang"\): it did not settle within 50 ms/);
  });

  it('a nested dataMutSync of one object on one thread is ERR_LEASE_REENTRANT at once; the outer commits', async () => {
    heap = await Heap.create({ leaseTimeoutMs: 60_000 });
    const r = ExternRef.newManuallyRooted(heap.store, [] as number[]);
    r.dataMutSync((v: number[]) => {
      throwsCode(() => r.dataMutSync((w: number[]) => [...w, 2]), 'ERR_LEASE_REENTRANT');
      throwsCode(() => r.callSync('push', 3), 'ERR_LEASE_REENTRANT');
      const other = heap.createStore(); // another store of this thread waits for the same lease
      throwsCode(() => ExternRef.fromRaw(other, r.toRaw())!.dataMutSync((w: number[]) => w), 'ERR_LEASE_REENTRANT');
      other.close();
      return [...v, 1];
    });
    expect(r.dataSync()).to.deep.equal([1]);
    r.unroot();
  });

  it('pending calls of the creating thread reject with ERR_HEAP_CLOSED when the coordinator thread dies', async () => {
    for (let trial = 0; trial < 3; trial++) {
      heap = await Heap.create({ hostModule });
      const s = await heap.store.scope(async () =>
        (await ExternRef.newWith(heap.store, 'stuck', 7)).toManuallyRooted(),
      );
      const pending = s.call('hang');
      const crash = ExternRef.newWith(heap.store, 'crashCoordinator');
      await rejectsCode(pending, 'ERR_HEAP_CLOSED');
      await rejectsCode(crash, 'ERR_HEAP_CLOSED');
      await heap.close();
    }
  });
});

describe('outside findings: threads and the pool', () => {
  let heap: Heap;
  let pool: Pool | null = null;
  afterEach(async () => {
    await pool?.close();
    pool = null;
    await heap?.close();
  });

  it("a worker's queued dataMut dies with it: a live thread's dataMut does not wait for the lease expiry", async () => {
    heap = await Heap.create({ leaseTimeoutMs: 600_000 }); // far beyond the test's own timeout
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    const r = ExternRef.newManuallyRooted(heap.store, [] as number[]);
    await pool.run('holdLeaseQueueAnotherAndDie', r).catch(() => undefined);
    expect(await r.dataMut((v: number[]) => [...v, 1])).to.deep.equal([1]);
    r.unroot();
  });

  it('results the caller cannot adopt (its root limit) are all released, and the caller gets the error', async () => {
    heap = await Heap.create({ rootsPerStore: 16 });
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    await heap.store.scope(async () => {
      await rejectsCode(pool!.run('manyRoots', 40), 'ERR_ROOT_LIMIT');
    });
    await pool.close();
    pool = null;
    await heap.gc();
    expect(heap.stats().live).to.equal(0);
  });

  it('close() waits for a construction in flight and disposes what its factory built', async () => {
    heap = await Heap.create({ hostModule });
    const pending = ExternRef.newWith(heap.store, 'builtThenSlow', 1002, 100).catch(
      (e: unknown) => (e as SharedRefError).code,
    );
    await new Promise((r) => setTimeout(r, 20)); // built, not yet returned
    const { disposed } = await closeAndCount(heap);
    expect(await pending).to.equal('ERR_HEAP_CLOSED');
    expect(disposed).to.include(1002);
  });

  it('plain data shaped like a transfer marker crosses as the same plain data, both ways', async () => {
    heap = await Heap.create();
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    const keep = ExternRef.newManuallyRooted(heap.store, 'mine');
    const forged = { __sharedrefTransfer: 1, token: { entry: 0, sequence: 1, handle: keep.toRaw() }, manual: true };
    const [back] = (await pool.run('echo', forged)) as [unknown];
    expect(back).to.deep.equal(forged);
    expect(keep.strongCount(), 'no count was taken or given by plain data').to.equal(1);
    keep.unroot();
  });

  it('names inherited from Object.prototype are not factories, tasks or methods', async () => {
    heap = await Heap.create({ hostModule });
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      await rejectsCode(ExternRef.newWith(heap.store, name), 'ERR_NO_SUCH_FACTORY');
      await rejectsCode(pool.run(name), 'ERR_NO_SUCH_TASK');
    }
    await heap.store.scope(async () => {
      const t = await ExternRef.newWith(heap.store, 'tracked', 1);
      const list = ExternRef.new<unknown>(heap.store, [1]); // untyped: the names below are no methods of number[]
      for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
        await rejectsCode(t.call(name), 'ERR_NO_SUCH_METHOD');
        throwsCode(() => list.callSync(name), 'ERR_NO_SUCH_METHOD');
      }
      expect(await list.call('push', 2), "an array's own methods still are").to.equal(2);
    });
  });

  it('an own __proto__ key, shared sub-objects and roots at any depth or in a Map or Set cross as sent', async () => {
    heap = await Heap.create();
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    await heap.store.scope(async () => {
      const r = ExternRef.new(heap.store, 'deep');
      const parsed = JSON.parse('{"__proto__": {"x": 1}, "y": 2}') as object;
      let shared: unknown = { leaf: 1 };
      for (let i = 0; i < 12; i++) shared = [shared, shared]; // 2^12 paths, 13 objects
      let deep: unknown = r;
      for (let i = 0; i < 200; i++) deep = { d: deep };
      const [p, s, d, m] = (await pool!.run('echo', parsed, shared, deep, new Map([[r, new Set([r])]]))) as [
        object,
        unknown[],
        unknown,
        Map<Rooted, Set<Rooted>>,
      ];
      expect(Object.getOwnPropertyNames(p)).to.deep.equal(['__proto__', 'y']);
      expect(Object.getPrototypeOf(p)).to.equal(Object.prototype);
      expect(s[0], 'sharing is kept').to.equal(s[1]);
      let at = d as { d: unknown };
      for (let i = 0; i < 199; i++) at = at.d as { d: unknown };
      expect(ExternRef.ptrEq(at.d as Rooted, r)).to.equal(true);
      const [key, set] = [...m][0]!;
      expect(ExternRef.ptrEq(key, r)).to.equal(true);
      expect([...set][0], 'one root twice in a message is one root').to.equal(key);
    });
  });

  it('a root inside a class instance is refused with an error naming where, and nothing is sent', async () => {
    heap = await Heap.create();
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    class Box {
      constructor(readonly inner: unknown) {}
    }
    const r = ExternRef.newManuallyRooted(heap.store, 1);
    const err = await rejectsCode(pool.run('echo', { a: [new Box(r)] }), 'ERR_NOT_CLONEABLE');
    expect(err.message).to.match(/value\[0\]\.a\[0\]\.inner/);
    expect(r.strongCount()).to.equal(1);
    r.unroot();
  });

  it('a store link attaches once; a second attach throws and changes nothing', async () => {
    heap = await Heap.create();
    const link = heap.createStoreLink();
    const first = attachStore(link);
    expect(() => attachStore(link)).to.throw(TypeError, /attached already/);
    const r = ExternRef.newManuallyRooted(first, 'x');
    expect(r.strongCount()).to.equal(1);
    first.close();
    await heap.gc();
    expect(heap.stats().live).to.equal(0);
  });

  it('a new store can be created at once after another is closed, at the store limit', async () => {
    heap = await Heap.create({ maxStores: 2 });
    for (let i = 0; i < 5; i++) {
      const s = heap.createStore();
      ExternRef.newManuallyRooted(s, i);
      s.close(); // its count is released before close returns
      expect(heap.stats().stores).to.equal(1);
    }
    await heap.gc();
    expect(heap.stats().live).to.equal(0);
  });

  it("the heap's own store closes only with its heap, and the heap keeps working", async () => {
    heap = await Heap.create();
    expect(() => heap.store.close()).to.throw(TypeError, /heap\.close\(\)/);
    expect(heap.store.closed).to.equal(false);
    expect((await heap.gc()).freed).to.be.a('number');
  });
});

describe('outside findings: bad input gets clear errors and changes nothing', () => {
  let heap: Heap;
  let pool: Pool | null = null;
  afterEach(async () => {
    await pool?.close();
    pool = null;
    await heap?.close();
  });

  it('every raw-handle entry point refuses what is not a u32 or its i32 form, and changes no count', async () => {
    heap = await Heap.create({ capacity: 64 });
    const m = ExternRef.newManuallyRooted(heap.store, 'x');
    const raw = m.clone().intoRaw(); // an owned count for fromOwnedRaw
    for (const bad of [
      raw + 2 ** 32,
      raw + 0.5,
      String(raw),
      NaN,
      Infinity,
      -(2 ** 31) - 1,
      BigInt(raw),
      { valueOf: () => raw },
    ]) {
      for (const entry of ['fromRaw', 'fromRawManuallyRooted', 'fromOwnedRaw'] as const) {
        throwsCode(
          () => (ExternRef[entry] as (s: unknown, r: unknown) => unknown)(heap.store, bad),
          'ERR_INVALID_HANDLE',
        );
      }
    }
    expect(m.strongCount()).to.equal(2);
    expect(ExternRef.fromOwnedRaw(heap.store, raw | 0)!.strongCount(), 'the i32 form is the same handle').to.equal(2);
  });

  it('what cannot be cloned (call arguments and results, task arguments and results): ERR_NOT_CLONEABLE', async () => {
    heap = await Heap.create({ hostModule });
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    const tid = (await pool.run('threadId')) as number;
    await heap.store.scope(async () => {
      const s = await ExternRef.newWith(heap.store, 'stuck', 8);
      throwsCode(() => s.callSync('ping', { f: () => 1 }), 'ERR_NOT_CLONEABLE');
      await rejectsCode(s.call('ping', Symbol('s')), 'ERR_NOT_CLONEABLE');
      await rejectsCode(s.call('returnsFunction'), 'ERR_NOT_CLONEABLE');
      throwsCode(() => s.callSync('returnsSymbol'), 'ERR_NOT_CLONEABLE');
    });
    await rejectsCode(pool.run('echo', { f: () => 1 }), 'ERR_NOT_CLONEABLE');
    await rejectsCode(pool.run('echo', new WeakMap()), 'ERR_NOT_CLONEABLE');
    for (const kind of ['function', 'symbol', 'weakmap']) {
      await rejectsCode(pool.run('returnsUncloneable', kind), 'ERR_NOT_CLONEABLE');
    }
    expect(await pool.run('threadId'), 'the same worker').to.equal(tid);
  });

  it('runTask refuses args that are not an array, naming the option', async () => {
    heap = await Heap.create();
    pool = heap.createPool({ filename: tasksFile, minThreads: 0, maxThreads: 1 });
    let caught: unknown;
    await pool.runTask({ task: 'echo', args: 'xyz' as unknown as unknown[] }).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(TypeError);
    expect((caught as Error).message).to.equal('options.args must be an array of arguments, received "xyz"');
  });

  it('createPool refuses workerData that cannot be cloned, and close() raises nothing afterwards', async () => {
    heap = await Heap.create();
    expect(() => heap.createPool({ filename: tasksFile, minThreads: 0, workerData: { f: () => 1 } })).to.throw(
      TypeError,
      /options\.workerData/,
    );
  });

  it('errors about freed objects name the handle, not a slot index', async () => {
    heap = await Heap.create({ hostModule, userCodeTimeoutMs: 200 });
    const s = await heap.store.scope(async () => (await ExternRef.newWith(heap.store, 'stuck', 9)).toManuallyRooted());
    const raw = s.toRaw();
    const running = s.call('hang').catch(() => undefined); // the queue is busy
    const queued = rejectsCode(s.call('ping'), 'ERR_INVALID_HANDLE');
    s.unroot();
    await heap.gc();
    const err = await queued;
    expect(err.message).to.contain(`0x${raw.toString(16)}`);
    await running;
  });
});

/** Closes the heap; returns every disposal the host module recorded, read after the close. */
async function closeAndCount(heap: Heap): Promise<{ disposed: number[] }> {
  const sab = new SharedArrayBuffer(4096 * 4);
  heap.store.scope(() => ExternRef.newWithSync(heap.store, 'logDisposalsTo', sab));
  await heap.close();
  const log = new Int32Array(sab);
  return { disposed: Array.from(log.subarray(1, 1 + Atomics.load(log, 0))) };
}

describe('outside findings: the module cache', () => {
  /** A module exporting `f() -> value`, with a custom section of `pad` (4 bytes) to vary its hash. */
  function moduleBytes(value: number, n: number): Uint8Array {
    const pad = Math.imul(n, 0x9e3779b1) >>> 0; // spread over all four bytes
    // prettier-ignore
    return new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
      0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type section: () -> i32
      0x03, 0x02, 0x01, 0x00, // function section
      0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, // export "f"
      0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, value, 0x0b, // code: i32.const value
      0x00, 0x06, 0x01, 0x70, pad & 0xff, (pad >>> 8) & 0xff, (pad >>> 16) & 0xff, (pad >>> 24) & 0xff, // custom "p"
    ]);
  }
  function fnv(bytes: Uint8Array): number {
    let h = 0x811c9dc5;
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
    return h >>> 0;
  }

  it('Module.fromBinary never returns the module of another binary with the same length and hash', () => {
    const seen = new Map<number, number>();
    for (let pad = 0; pad < 200_000; pad++) seen.set(fnv(moduleBytes(1, pad)), pad);
    let pair: [Uint8Array, Uint8Array] | null = null;
    for (let pad = 0; pad < 5_000_000 && pair === null; pad++) {
      const b = moduleBytes(2, pad);
      const a = seen.get(fnv(b));
      if (a !== undefined) pair = [moduleBytes(1, a), b];
    }
    expect(pair, 'two different binaries with one hash were found').to.not.equal(null);
    const [a, b] = pair!;
    expect(a.length).to.equal(b.length);
    const run = (m: Module): number => (new WebAssembly.Instance(m.wasm).exports.f as () => number)();
    expect(run(Module.fromBinary(a))).to.equal(1);
    expect(run(Module.fromBinary(b)), 'the second binary runs its own code').to.equal(2);
    expect(run(Module.fromBinary(a))).to.equal(1);
  });
});

describe('outside findings, second attack: closing, deep and hidden roots, odd values', () => {
  let heap: Heap;
  let pool: Pool | null = null;
  afterEach(async () => {
    await pool?.close();
    pool = null;
    await heap?.close();
  });

  it('heap.close() refuses every later call at once and fails pending ones, pool tasks included', async () => {
    heap = await Heap.create({ hostModule, userCodeTimeoutMs: 500 });
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1, closeTimeout: 200 });
    const s = await heap.store.scope(async () => (await ExternRef.newWith(heap.store, 'stuck', 31)).toManuallyRooted());
    const task = pool.run('never');
    const call = s.call('hang');
    await new Promise((r) => setTimeout(r, 50)); // the task runs on its worker
    const closing = heap.close();
    expect(heap.closed).to.equal(true);
    throwsCode(() => ExternRef.new(heap.store, 1), 'ERR_HEAP_CLOSED');
    await rejectsCode(ExternRef.newWith(heap.store, 'stuck', 32), 'ERR_HEAP_CLOSED');
    await rejectsCode(call, 'ERR_HEAP_CLOSED');
    await rejectsCode(task, 'ERR_HEAP_CLOSED'); // its worker was stopped by the close, not by itself
    await closing;
    pool = null;
  });

  it('pool tasks pending when the coordinator thread dies reject with ERR_HEAP_CLOSED', async () => {
    heap = await Heap.create({ hostModule });
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1, closeTimeout: 200 });
    await pool.run('echo', 1); // the worker is up
    const task = pool.run('never');
    await new Promise((r) => setTimeout(r, 50));
    await rejectsCode(ExternRef.newWith(heap.store, 'crashCoordinator'), 'ERR_HEAP_CLOSED');
    await rejectsCode(task, 'ERR_HEAP_CLOSED');
    await heap.close();
    pool = null;
  });

  it('a dataMut fn that never settles: ERR_LEASE_TIMEOUT naming the handle when the lease ends', async () => {
    heap = await Heap.create({ leaseTimeoutMs: 150 });
    const r = ExternRef.newManuallyRooted(heap.store, 1);
    const stuck = r.dataMut(() => new Promise<number>(() => undefined));
    const err = await rejectsCode(stuck, 'ERR_LEASE_TIMEOUT');
    expect(err.message).to.include(`0x${r.toRaw().toString(16)}`);
    expect(await r.dataMut((v) => v + 1), 'the next mutation goes on').to.equal(2);
    r.unroot();
  });

  it('a dataMut fn that never settles: ERR_HEAP_CLOSED when the heap closes first', async () => {
    heap = await Heap.create({ leaseTimeoutMs: 600_000 });
    const r = ExternRef.newManuallyRooted(heap.store, 1);
    const stuck = r.dataMut(() => new Promise<number>(() => undefined));
    await new Promise((res) => setTimeout(res, 20)); // the lease is granted, fn runs
    const closing = heap.close();
    await rejectsCode(stuck, 'ERR_HEAP_CLOSED');
    await closing;
  });

  it('a root in an array property that is not an index, or behind a getter, crosses as a root', async () => {
    heap = await Heap.create();
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    await heap.store.scope(async () => {
      const r = ExternRef.new(heap.store, 'R');
      const list: unknown[] & { extra?: unknown } = [1, , 3]; // eslint-disable-line no-sparse-arrays
      list.extra = r;
      const withGetter = {
        get r() {
          return r;
        },
      };
      const [a, o] = (await pool!.run('echo', list, withGetter)) as [typeof list, { r: Rooted }];
      expect(a.extra).to.be.instanceOf(Rooted);
      expect((a.extra as Rooted).toRaw()).to.equal(r.toRaw());
      expect(1 in a, 'a hole stays a hole').to.equal(false);
      expect(a.length).to.equal(3);
      expect(o.r.toRaw()).to.equal(r.toRaw());
      expect(o.r.dataSync()).to.equal('R');
    });
  });

  it('values nest up to 1000 objects deep; deeper is ERR_NOT_CLONEABLE naming where, never a hang', async () => {
    heap = await Heap.create({ hostModule });
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    const nest = (leaf: unknown, depth: number): unknown => {
      let v = leaf;
      for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { d: v };
      return v;
    };
    const tooDeep = async (p: Promise<unknown>): Promise<void> => {
      const err = await rejectsCode(p, 'ERR_NOT_CLONEABLE');
      expect(err.message).to.include('levels down');
    };
    await heap.store.scope(async () => {
      const r = ExternRef.new(heap.store, 'deep');
      // Several tasks at once, so that some wait in the queue: a message too deep was lost there.
      // (echo returns its arguments in an array: one level more on the way back.)
      const many = await Promise.all([1, 2, 3].map(() => pool!.run('echo', nest(r, 999))));
      for (const [back] of many as [unknown][]) {
        let leaf = back;
        for (let i = 0; i < 999; i++) leaf = i % 2 === 0 ? (leaf as unknown[])[0] : (leaf as { d: unknown }).d;
        expect((leaf as Rooted).dataSync()).to.equal('deep');
      }
      await Promise.all([1, 2, 3].map(() => tooDeep(pool!.run('echo', nest(r, 1001)))));
      await tooDeep(pool!.run('echo', nest('plain', 2000)));
      throwsCode(() => ExternRef.new(heap.store, nest('plain', 1001)), 'ERR_NOT_CLONEABLE');
      const list = ExternRef.new(heap.store, [] as unknown[]);
      await tooDeep(list.call('push', nest('plain', 1001)));
      await tooDeep(list.dataMut(() => nest('plain', 1001) as unknown[]));
      expect(ExternRef.new(heap.store, nest('plain', 1000)).dataSync()).to.not.equal(undefined);
      expect(r.strongCount(), 'its own root and the three that came back; no transfer in flight').to.equal(4);
    });
    await heap.gc();
    expect(heap.stats().live).to.equal(0);
  });

  it('a MessagePort in call, callSync or pool.run arguments is ERR_NOT_CLONEABLE; the store goes on', async () => {
    heap = await Heap.create({ hostModule });
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    const { port1, port2 } = new MessageChannel();
    try {
      await heap.store.scope(async () => {
        const list = ExternRef.new(heap.store, [] as unknown[]);
        await rejectsCode(list.call('push', port1), 'ERR_NOT_CLONEABLE');
        throwsCode(() => list.callSync('push', { port: port1 }), 'ERR_NOT_CLONEABLE');
        await rejectsCode(pool!.run('echo', [port1]), 'ERR_NOT_CLONEABLE');
        expect(await list.call('push', 1)).to.equal(1);
      });
    } finally {
      port1.close();
      port2.close();
    }
  });

  it('runTask refuses a signal that is not an AbortSignal, naming the option', async () => {
    heap = await Heap.create();
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    const err = await pool.runTask({ task: 'echo', args: [], signal: 'x' as unknown as AbortSignal }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).to.be.instanceOf(TypeError);
    expect(err!.message).to.include('options.signal');
  });

  it('a synchronous call on the creating thread wakes with ERR_HEAP_CLOSED when host code exits its thread', () => {
    const code = `
      const { Heap, ExternRef } = require(${JSON.stringify(join(__dirname, '..', '..', 'src'))});
      Heap.create({ hostModule: ${JSON.stringify(hostModule)} }).then(async (heap) => {
        let code = 'none';
        try { ExternRef.newWithSync(heap.store, 'crashCoordinator'); } catch (err) { code = err.code; }
        console.log(code);
        await heap.close();
      });`;
    const out = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', code], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, TS_NODE_PROJECT: join(__dirname, '..', '..', 'tsconfig.test.json') },
    });
    expect(out.signal, 'the process ended on its own').to.equal(null);
    expect(out.stdout.trim()).to.equal('ERR_HEAP_CLOSED');
  });

  it('pool.close() settles when a running task ends its own worker during the close', async () => {
    heap = await Heap.create();
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1, closeTimeout: 300 });
    const task = pool.run('dieAfter', 100).catch((e: unknown) => e as Error);
    await new Promise((r) => setTimeout(r, 30));
    const keepAlive = setTimeout(() => undefined, 10_000); // so a pending close would be seen, not end the run
    try {
      await pool.close();
    } finally {
      clearTimeout(keepAlive);
    }
    expect(await task).to.be.instanceOf(Error);
    pool = null;
  });

  it("a worker's dataMut whose fn never settles fails with ERR_HEAP_CLOSED when the heap closes", async () => {
    heap = await Heap.create({ leaseTimeoutMs: 600_000 });
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1, closeTimeout: 5000 });
    const r = ExternRef.newManuallyRooted(heap.store, 1);
    await pool.run('echo', 1); // the worker is up
    const task = pool.run('stuckDataMut', r);
    await new Promise((res) => setTimeout(res, 100)); // its lease is granted
    const t0 = Date.now();
    await heap.close();
    expect(await task, 'the fn was given up, not the task').to.equal('ERR_HEAP_CLOSED');
    expect(Date.now() - t0, 'well before closeTimeout').to.be.below(2500);
    pool = null;
  });

  it('a root below an Error, a Proxy, a root inside a value for new, call or dataMut: ERR_NOT_CLONEABLE', async () => {
    heap = await Heap.create({ hostModule });
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    await heap.store.scope(async () => {
      const r = ExternRef.new(heap.store, 'R');
      await rejectsCode(pool!.run('echo', { e: new Error('x', { cause: r }) }), 'ERR_NOT_CLONEABLE');
      await rejectsCode(pool!.run('echo', { e: new Error('x', { cause: { r } }) }), 'ERR_NOT_CLONEABLE');
      await rejectsCode(pool!.run('echo', { r, p: new Proxy({ a: 1 }, {}) }), 'ERR_NOT_CLONEABLE');
      throwsCode(() => ExternRef.new(heap.store, { r } as unknown), 'ERR_NOT_CLONEABLE');
      throwsCode(() => ExternRef.new(heap.store, r as unknown), 'ERR_NOT_CLONEABLE');
      const list = ExternRef.new(heap.store, [] as unknown[]);
      await rejectsCode(list.call('push', { r } as unknown), 'ERR_NOT_CLONEABLE');
      await rejectsCode(
        list.dataMut(() => [r] as unknown[]),
        'ERR_NOT_CLONEABLE',
      );
      expect(r.strongCount(), 'no count taken by what was refused').to.equal(1);
    });
  });

  it('runTask refuses args: null', async () => {
    heap = await Heap.create();
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    const err = await pool.runTask({ task: 'echo', args: null as unknown as unknown[] }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).to.be.instanceOf(TypeError);
    expect(err!.message).to.include('options.args');
  });

  it('depth is measured where a clone first meets each object: shared chains and changing getters', async () => {
    heap = await Heap.create();
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    const chain = (n: number): { c?: unknown } => {
      const top: { c?: unknown } = {};
      let at = top;
      for (let i = 1; i < n; i++) at = (at.c = {}) as { c?: unknown };
      return top;
    };
    const bottom = (x: { c?: unknown }): { c?: unknown } => {
      let at = x;
      while (typeof at.c === 'object') at = at.c as { c?: unknown };
      return at;
    };
    // Three chains of 600, each ending in the next: no object is more than 601 levels from the top
    // by its shortest path, but a clone meets the last one 1 800 deep.
    const [x1, x2, x3] = [chain(600), chain(600), chain(600)];
    bottom(x1).c = x2;
    bottom(x2).c = x3;
    const shared = { s1: x1, s2: x2, s3: x3 };
    throwsCode(() => ExternRef.new(heap.store, shared), 'ERR_NOT_CLONEABLE');
    await rejectsCode(pool.run('echo', shared), 'ERR_NOT_CLONEABLE');
    // A getter that answers more deeply the second time it is read.
    let reads = 0;
    const sly = {
      get g() {
        return reads++ === 0 ? 1 : chain(1500);
      },
    };
    throwsCode(() => ExternRef.new(heap.store, sly), 'ERR_NOT_CLONEABLE');
    reads = 0;
    await rejectsCode(pool.run('echo', sly), 'ERR_NOT_CLONEABLE');
    expect(await pool.run('echo', 1), 'the worker goes on').to.deep.equal([1]);
  });

  it('heap.close() settles when a disposer it runs ends the coordinator thread', function () {
    const code = `
      const { Heap, ExternRef } = require(${JSON.stringify(join(__dirname, '..', '..', 'src'))});
      Heap.create({ hostModule: ${JSON.stringify(hostModule)} }).then(async (heap) => {
        await ExternRef.newWith(heap.store, 'exitsWhenDisposed');
        await heap.close();
        console.log('closed');
      });`;
    const out = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', code], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, TS_NODE_PROJECT: join(__dirname, '..', '..', 'tsconfig.test.json') },
    });
    expect(out.stdout.trim(), 'the code after await heap.close() ran').to.equal('closed');
  });

  it('at close, every running task that no longer uses the heap may finish within closeTimeout', async () => {
    heap = await Heap.create();
    pool = heap.createPool({ filename: tasksFile, minThreads: 3, maxThreads: 3, closeTimeout: 10_000 });
    await Promise.all([1, 2, 3].map(() => pool!.run('echo', 1))); // the workers are up
    const tasks = [1, 2, 3].map(() => pool!.run('wait', 600).catch((e: unknown) => (e as SharedRefError).code));
    await new Promise((r) => setTimeout(r, 100));
    await heap.close();
    expect(await Promise.all(tasks)).to.deep.equal(['waited', 'waited', 'waited']);
    pool = null;
  });

  it('a getter answering deeper the second time cannot pass the depth check in call or newWith arguments', async () => {
    heap = await Heap.create({ hostModule });
    const nest = (n: number): unknown => {
      let v: unknown = 0;
      for (let i = 0; i < n; i++) v = [v];
      return v;
    };
    let reads = 0;
    const sly = (): object => ({
      get g() {
        return reads++ === 0 ? 1 : nest(1500);
      },
    });
    await heap.store.scope(async () => {
      const gauge = await ExternRef.newWith(heap.store, 'depthGauge');
      reads = 0;
      await rejectsCode(gauge.call('depth', sly()), 'ERR_NOT_CLONEABLE');
      reads = 0;
      throwsCode(() => gauge.callSync('depth', sly()), 'ERR_NOT_CLONEABLE');
      reads = 0;
      await rejectsCode(ExternRef.newWith(heap.store, 'tracked', sly() as unknown as number), 'ERR_NOT_CLONEABLE');
      expect(await gauge.call('depth', nest(999)), 'within the limit the argument arrives whole').to.equal(999);
    });
  });

  it('a newWith in flight at close leaves created and disposed equal in stats()', async () => {
    heap = await Heap.create({ hostModule });
    const p = ExternRef.newWith(heap.store, 'tracked', 5).catch((e: unknown) => (e as SharedRefError).code);
    await heap.close();
    expect(await p).to.equal('ERR_HEAP_CLOSED');
    const s = heap.stats();
    expect(s.disposed).to.equal(s.created);
  });
});
