/** Roots, scopes, raw handles and misuse (I1, I2, I6). */
import { expect } from 'chai';
import { ExternRef, Heap, type ManuallyRooted, RootScope, type Rooted } from '../../src';
import { hostModule, rejectsCode, throwsCode } from '../helpers';

describe('roots and raw handles', () => {
  let heap: Heap;
  beforeEach(async () => {
    heap = await Heap.create({ hostModule, capacity: 8192 });
  });
  afterEach(async () => {
    await heap.close();
  });

  it('a root is released when its scope exits, and its object is disposed once after gc()', async () => {
    await heap.store.scope(async () => {
      await ExternRef.newWith(heap.store, 'tracked', 101);
    });
    const log = await ExternRef.newWith(heap.store, 'disposalLog');
    // Not before a collection; in debug mode the coordinator also collects every 20 ms, so one
    // may already have run (seen once in CI on a loaded machine).
    if (!heap.options.debug) expect(await log.call('entries')).to.deep.equal([]);
    await heap.gc();
    await heap.gc();
    expect(await log.call('entries')).to.deep.equal([101]);
  });

  it('a manual root lives until the last of its clones is unrooted', async () => {
    const log = ExternRef.newWithSync(heap.store, 'disposalLog');
    const a = heap.store.scope(() => ExternRef.newWithSync(heap.store, 'tracked', 7).toManuallyRooted());
    const b = a.clone();
    const c = b.clone();
    expect(a.strongCount()).to.equal(3);
    a.unroot();
    b.unroot();
    await heap.gc();
    expect(await log.call('entries')).to.deep.equal([]);
    expect(await c.call('get')).to.equal(7);
    c.unroot();
    await heap.gc();
    expect(await log.call('entries')).to.deep.equal([7]);
  });

  it('strongCount follows clones and unroots', () => {
    heap.store.scope(() => {
      const r = ExternRef.new(heap.store, { a: 1 });
      expect(r.strongCount()).to.equal(1);
      const m = r.toManuallyRooted();
      const copies = [m.clone(), m.clone(), m.toRooted()];
      expect(r.strongCount()).to.equal(5);
      (copies[0] as ManuallyRooted).unroot();
      (copies[1] as ManuallyRooted).unroot();
      expect(r.strongCount()).to.equal(3);
      m.unroot();
      expect(r.strongCount()).to.equal(2);
    });
  });

  it('a raw round trip inside a scope leaks nothing', async () => {
    const before = heap.stats();
    heap.store.scope(() => {
      const r = ExternRef.new(heap.store, 'x');
      for (let i = 0; i < 1000; i++) {
        const back = ExternRef.fromRaw(heap.store, r.toRaw())!;
        expect(ExternRef.ptrEq(back, r)).to.equal(true);
      }
      expect(r.strongCount()).to.equal(1001);
    });
    expect(heap.store.rootCount).to.equal(0);
    await heap.gc();
    const after = heap.stats();
    expect(after.live).to.equal(before.live);
    expect(after.disposed - before.disposed).to.equal(1);
  });

  it('intoRaw gives the count to the number and fromOwnedRaw takes it back without adding one', () => {
    const m = ExternRef.newManuallyRooted(heap.store, 'owned');
    const raw = m.intoRaw();
    expect(m.isRooted).to.equal(false);
    throwsCode(() => m.unroot(), 'ERR_UNROOTED');
    const probe = heap.store.scope(() => ExternRef.fromRaw(heap.store, raw)!.strongCount());
    expect(probe).to.equal(2); // the owned count plus the probe's own
    const back = ExternRef.fromOwnedRaw(heap.store, raw)!;
    expect(back.strongCount()).to.equal(1);
    expect(back.dataSync()).to.equal('owned');
    throwsCode(() => ExternRef.fromOwnedRaw(heap.store, raw), 'ERR_CROSS_STORE');
    back.unroot();
  });

  it('fromRaw(0) is null', () => {
    expect(ExternRef.fromRaw(heap.store, 0)).to.equal(null);
    expect(ExternRef.fromOwnedRaw(heap.store, 0)).to.equal(null);
  });

  it('forged and stale handles give ERR_INVALID_HANDLE, also after the slot is reused', async () => {
    for (const forged of [1, 0xffffffff, 0x12345678, 2 ** 31, -1, 1.5, NaN]) {
      throwsCode(() => ExternRef.fromRaw(heap.store, forged), 'ERR_INVALID_HANDLE');
    }
    const stale = heap.store.scope(() => ExternRef.new(heap.store, 'gone').toRaw());
    await heap.gc();
    throwsCode(() => ExternRef.fromRaw(heap.store, stale), 'ERR_INVALID_HANDLE');
    // Churn until the old slot holds a new object; the old handle must still not resolve.
    let reused = false;
    for (let round = 0; round < 20 && !reused; round++) {
      heap.store.scope(() => {
        for (let i = 0; i < 500; i++) {
          const r = ExternRef.new(heap.store, i);
          if ((r.toRaw() & 0x1fff) === (stale & 0x1fff)) {
            reused = true;
            expect(r.toRaw()).not.to.equal(stale);
            throwsCode(() => ExternRef.fromRaw(heap.store, stale), 'ERR_INVALID_HANDLE');
          }
        }
      });
      await heap.gc();
    }
    expect(reused, 'the slot was reused').to.equal(true);
  });

  it('a second unroot() is an error and leaves counts unchanged', () => {
    const a = ExternRef.newManuallyRooted(heap.store, 1);
    const b = a.clone();
    a.unroot();
    expect(b.strongCount()).to.equal(1);
    throwsCode(() => a.unroot(), 'ERR_UNROOTED');
    expect(b.strongCount()).to.equal(1);
    b.unroot();
  });

  it('a root used after its scope is ERR_UNROOTED and changes no count', async () => {
    let escaped!: Rooted;
    const keep = heap.store.scope(() => {
      escaped = ExternRef.new(heap.store, 'v');
      return escaped.toManuallyRooted();
    });
    throwsCode(() => escaped.toRaw(), 'ERR_UNROOTED');
    throwsCode(() => escaped.dataSync(), 'ERR_UNROOTED');
    throwsCode(() => escaped.toManuallyRooted(), 'ERR_UNROOTED');
    await rejectsCode(escaped.data(), 'ERR_UNROOTED');
    expect(keep.strongCount()).to.equal(1);
    keep.unroot();
  });

  it('a root used with another store or heap is ERR_CROSS_STORE', async () => {
    const other = await Heap.create();
    try {
      heap.store.scope(() => {
        const r = ExternRef.new(heap.store, 1);
        throwsCode(() => r.toRaw(other.store), 'ERR_CROSS_STORE');
        throwsCode(() => r.dataSync(heap.createStore()), 'ERR_CROSS_STORE');
        expect(r.toRaw(heap.store)).to.be.a('number');
      });
    } finally {
      await other.close();
    }
  });

  it('equal data in two objects are two identities', () => {
    heap.store.scope(() => {
      const a = ExternRef.new(heap.store, { same: true });
      const b = ExternRef.new(heap.store, { same: true });
      const a2 = ExternRef.fromRaw(heap.store, a.toRaw())!;
      expect(ExternRef.ptrEq(a, b)).to.equal(false);
      expect(ExternRef.ptrEq(a, a2)).to.equal(true);
      expect(ExternRef.hash(a)).to.equal(ExternRef.hash(a2));
      expect(ExternRef.compare(a, a2)).to.equal(0);
      expect(Math.sign(ExternRef.compare(a, b))).to.equal(-Math.sign(ExternRef.compare(b, a)));
      expect(ExternRef.compare(a, b)).not.to.equal(0);
    });
  });

  it('a root made outside any scope belongs to the store until the store closes', async () => {
    const store = heap.createStore();
    const r = ExternRef.new(store, 'loose');
    const probe = ExternRef.newManuallyRooted(heap.store, 0);
    const raw = r.toRaw();
    await heap.gc();
    expect(heap.store.scope(() => ExternRef.fromRaw(heap.store, raw)!.dataSync())).to.equal('loose');
    store.close();
    throwsCode(() => r.toRaw(), 'ERR_STORE_CLOSED');
    await heap.gc();
    throwsCode(() => ExternRef.fromRaw(heap.store, raw), 'ERR_INVALID_HANDLE');
    probe.unroot();
  });

  it('RootScope works with using and releases at block end', () => {
    let raw = 0;
    {
      using scope = new RootScope(heap.store);
      const r = ExternRef.new(heap.store, 'scoped');
      raw = r.toRaw();
      expect(scope.size).to.equal(1);
      expect(r.strongCount()).to.equal(1);
    }
    expect(heap.store.rootCount).to.equal(0);
    // The last count went with the scope: the handle names nothing any more.
    throwsCode(() => ExternRef.fromRaw(heap.store, raw), 'ERR_INVALID_HANDLE');
  });

  it('interleaved async scopes on one store each release only their own roots', async () => {
    const order: string[] = [];
    const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
    const run = (name: string, n: number): Promise<number[]> =>
      heap.store.scope(async () => {
        const mine: Rooted[] = [];
        for (let i = 0; i < n; i++) {
          mine.push(ExternRef.new(heap.store, `${name}${i}`));
          order.push(name);
          await tick();
        }
        return mine.map((r) => r.strongCount());
      });
    const pa = run('a', 5);
    const pb = run('b', 3);
    const [ca, cb] = await Promise.all([pa, pb]);
    expect(ca).to.deep.equal([1, 1, 1, 1, 1]);
    expect(cb).to.deep.equal([1, 1, 1]);
    expect(order.join('')).to.match(/ab/); // they really interleaved
    expect(heap.store.rootCount).to.equal(0);
  });

  it('an async scope that settles first releases its roots while the other still holds its own', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let longRoot!: Rooted;
    const long = heap.store.scope(async () => {
      longRoot = ExternRef.new(heap.store, 'long');
      await gate;
      return longRoot.dataSync();
    });
    await heap.store.scope(async () => {
      ExternRef.new(heap.store, 'short');
      await new Promise((r) => setImmediate(r));
    });
    expect(longRoot.isRooted).to.equal(true);
    expect(heap.store.rootCount).to.equal(1);
    release();
    expect(await long).to.equal('long');
    expect(longRoot.isRooted).to.equal(false);
  });
});
