/** The worker pool: stores in workers, references crossing threads, crash safety (I4, I5, I8). */
import { expect } from 'chai';
import { ExternRef, Heap, type ManuallyRooted, type Pool, type Rooted } from '../../src';
import { bareRun } from '../../src/internal/bench-hooks';
import { FailedTasks, packRoots, unpackRoots } from '../../src/pool/transfer';
import { coreOf } from '../../src/store/internal';
import type { TransferToken } from '../../src/shared/transfer-table';
import { firstMessage, hostModule, rejectsCode, startWorker, stopWorkers, tasksFile, waitFor } from '../helpers';

describe('worker pool', () => {
  let heap: Heap;
  let pool: Pool;
  beforeEach(async () => {
    heap = await Heap.create({ hostModule, leaseTimeoutMs: 5000 });
    pool = heap.createPool({ filename: tasksFile, minThreads: 2, maxThreads: 2 });
  });
  afterEach(async () => {
    await stopWorkers();
    await pool.close();
    await heap.close();
  });

  it('runs the seed host-string new and concat as tasks on two workers, read back on the main thread', async () => {
    await heap.store.scope(async () => {
      const [hello, world] = (await Promise.all([
        pool.run('newString', 'Hello, '),
        pool.run('newString', 'World!'),
      ])) as [Rooted, Rooted];
      const joined = (await pool.run('concat', hello, world)) as Rooted;
      expect(joined.dataSync()).to.equal('Hello, World!');
      const joinedAsync = (await pool.run('concatAsync', hello, world)) as Rooted;
      expect(await joinedAsync.data()).to.equal('Hello, World!');
      for (const r of [hello, world, joined, joinedAsync]) expect(r.strongCount()).to.equal(1);
    });
    await heap.gc();
    expect(heap.stats().live).to.equal(0);
  });

  it('three tasks cloning and dropping one object 20 000 times each leave its count exactly as before', async () => {
    const pool3 = heap.createPool({ filename: tasksFile, minThreads: 3, maxThreads: 3 });
    try {
      await heap.store.scope(async () => {
        const r = ExternRef.new(heap.store, 'shared');
        const keep = r.toManuallyRooted();
        expect(r.strongCount()).to.equal(2);
        await Promise.all([0, 1, 2].map(() => pool3.run('cloneDrop', r, 20_000)));
        expect(r.strongCount()).to.equal(2);
        keep.unroot();
      });
    } finally {
      await pool3.close();
    }
  });

  it('roots nested in arrays and objects travel both ways, and the caller keeps its own', async () => {
    await heap.store.scope(async () => {
      const a = ExternRef.new(heap.store, 'a');
      const m = ExternRef.newManuallyRooted(heap.store, 'm');
      const out = (await pool.run('echo', [a, { inner: a }], m, 42, 'text')) as [
        [Rooted, { inner: Rooted }],
        ManuallyRooted,
        number,
        string,
      ];
      expect(ExternRef.ptrEq(out[0][0], a)).to.equal(true);
      // One root twice in a message arrives as one shared root, as a structured clone shares objects.
      expect(out[0][1].inner).to.equal(out[0][0]);
      expect(out.slice(2)).to.deep.equal([42, 'text']);
      expect(a.strongCount()).to.equal(2); // ours and the result's; the task's own are gone
      expect(m.strongCount()).to.equal(2); // ours and the result: the task's own root ended with its scope
      expect(out[1].constructor.name).to.equal('Rooted');
      m.unroot();
    });
    expect(heap.store.rootCount).to.equal(0);
  });

  it('a task receives every root as a Rooted of its scope, sent Rooted or ManuallyRooted, at any depth', async () => {
    await heap.store.scope(async () => {
      const r = ExternRef.new(heap.store, 'r');
      const m = ExternRef.newManuallyRooted(heap.store, 'm');
      const kinds = await pool.run('rootKinds', r, m, { s: m, list: [{ r, m }] }, new Map([[m, { r }]]), new Set([m]));
      expect(kinds).to.deep.equal([
        'Rooted',
        'Rooted',
        { s: 'Rooted', list: [{ r: 'Rooted', m: 'Rooted' }] },
        [['Rooted', { r: 'Rooted' }]],
        ['Rooted'],
      ]);
      expect(m.strongCount()).to.equal(1); // the task's roots ended with its scope
      m.unroot();
    });
  });

  it(
    'a task that takes manual roots and then exits the process: after gc() the main count is the ' +
      'only one left, and the pool goes on',
    async () => {
      await heap.store.scope(async () => {
        const r = ExternRef.new(heap.store, 'survivor');
        const died = await pool.run('keepAndExit', r, 50).then(
          () => false,
          () => true,
        );
        expect(died).to.equal(true);
        await waitFor(() => r.strongCount() === 1, 'the dead worker’s counts to be released');
        await heap.gc();
        expect(r.strongCount()).to.equal(1);
        expect(r.dataSync()).to.equal('survivor');
        expect(await pool.run('newString', 'still here').then((x) => (x as Rooted).dataSync())).to.equal('still here');
      });
    },
  );

  it('a raw handle written to a SharedArrayBuffer by one worker resolves in another', async () => {
    const shared = new Int32Array(new SharedArrayBuffer(16));
    await heap.store.scope(async () => {
      const r = ExternRef.new(heap.store, { payload: 'through shared memory' });
      await pool.run('writeRaw', r, shared, 1);
      expect(Atomics.load(shared, 1)).to.equal(r.toRaw());
      const seen = await Promise.all([pool.run('readRaw', shared, 1), pool.run('readRaw', shared, 1)]);
      expect(seen).to.deep.equal([{ payload: 'through shared memory' }, { payload: 'through shared memory' }]);
    });
  });

  it('dataMutSync from two workers loses no update', async () => {
    await heap.store.scope(async () => {
      const r = ExternRef.new(heap.store, { n: 0 });
      await Promise.all([pool.run('bump', r, 200), pool.run('bump', r, 200)]);
      expect(await r.data()).to.deep.equal({ n: 400 });
    });
  });

  it("a bare task (the benchmark's same-worker baseline) is answered as sent, without touching a store", async () => {
    const before = heap.stats();
    expect(await bareRun(pool, { a: 1, b: [2, 3] })).to.deep.equal({ a: 1, b: [2, 3] });
    expect(heap.stats().created).to.equal(before.created);
    await heap.store.scope(async () =>
      expect(((await pool.run('newString', 'after')) as Rooted).dataSync()).to.equal('after'),
    );
  });

  it('thousands of values made and dropped in workers are collected', async () => {
    const before = heap.stats();
    await Promise.all([pool.run('churn', 3000), pool.run('churn', 3000)]);
    await heap.gc();
    const after = heap.stats();
    expect(after.created - before.created).to.equal(6000);
    expect(after.disposed - before.disposed).to.equal(6000);
    expect(after.live).to.equal(before.live);
  });

  it(
    'results packed by a store that dies before the caller adopts them are not lost (regression: ' +
      'result transfers were owned by the sender)',
    async () => {
      const sender = heap.createStore();
      const sent: TransferToken[] = [];
      const packed = sender.scope(() =>
        packRoots([ExternRef.new(sender, 'result')], heap.id, sent, 'test', { storeId: heap.store.id, tag: 7 }),
      );
      sender.close(); // the sending thread is gone before the caller reads the result
      await heap.gc();
      await heap.store.scope(async () => {
        const [r] = unpackRoots(packed, coreOf(heap.store)) as [Rooted];
        expect(r.dataSync()).to.equal('result');
        expect(r.strongCount()).to.equal(1);
      });
      await heap.gc();
      expect(heap.stats().live).to.equal(0);
    },
  );

  it('results of a failed task are released by its tag, and only those', async () => {
    const sender = heap.createStore();
    const sent: TransferToken[] = [];
    const keep = ExternRef.newManuallyRooted(sender, 'kept');
    // Two roots of one object: two counts travel (one root twice would carry one).
    sender.scope(() => packRoots([keep, keep.toRooted()], heap.id, sent, 'test', { storeId: heap.store.id, tag: 41 }));
    const other = sender.scope(() => packRoots([keep], heap.id, [], 'test', { storeId: heap.store.id, tag: 42 }));
    expect(keep.strongCount()).to.equal(4);
    expect(coreOf(heap.store).transfers.releaseTagged(heap.store.id, 41)).to.equal(2);
    expect(keep.strongCount()).to.equal(2);
    const [adopted] = unpackRoots(other, coreOf(heap.store)) as [ManuallyRooted]; // a manual root arrives manual
    expect(adopted.strongCount()).to.equal(2);
    adopted.unroot();
    expect(keep.strongCount()).to.equal(1);
    keep.unroot();
    sender.close();
  });

  it(
    'results a worker publishes after the caller gave up, and then dies before it sees the mark, are ' +
      'released by a later sweep (regression: found by the kill storm)',
    async () => {
      const worker = heap.createStore(); // stands for the pool worker
      const keep = ExternRef.newManuallyRooted(heap.store, 'result');
      const failed = new FailedTasks();
      // The caller: the task with tag 9 failed; it marks it and sweeps (nothing is there yet).
      failed.add(9);
      expect(failed.sweep(coreOf(heap.store))).to.equal(0);
      // The worker publishes its results late (owned by the caller, tagged), then dies before it
      // checks the abandoned mark, so it never releases them itself.
      worker.scope(() => {
        const r = ExternRef.fromRaw(worker, keep.toRaw())!;
        packRoots([r, r.toManuallyRooted()], heap.id, [], 'test', { storeId: heap.store.id, tag: 9 });
      });
      worker.close();
      expect(keep.strongCount()).to.equal(3);
      // Results of other tasks are not touched; the next sweep releases the late ones, once.
      const other = heap.store.scope(() =>
        packRoots([keep.toRooted()], heap.id, [], 'test', { storeId: heap.store.id, tag: 10 }),
      );
      expect(failed.sweep(coreOf(heap.store))).to.equal(2);
      expect(failed.sweep(coreOf(heap.store))).to.equal(0);
      expect(keep.strongCount()).to.equal(2);
      const [adopted] = unpackRoots(other, coreOf(heap.store)) as [Rooted];
      expect(ExternRef.ptrEq(adopted, keep)).to.equal(true);
      keep.unroot();
    },
  );

  it(
    'a worker recovers from ERR_GC_HEAP_OOM by collecting from its own store (store.gcSync) and ' +
      'retrying with intoInner()',
    async () => {
      const small = await Heap.create({ capacity: 1024 });
      const p = small.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
      try {
        const before = small.stats();
        const r = (await p.run('fillAndRecover', 5000)) as { made: number; recoveries: number; lastValue: unknown };
        expect(r.made).to.equal(5000);
        expect(r.recoveries, 'the heap ran out at least once').to.be.greaterThan(0);
        expect(r.lastValue).to.deep.equal({ i: 4999 });
        await small.store.gc();
        const after = small.stats();
        expect(after.created - before.created).to.equal(5000);
        expect(after.live).to.equal(before.live);
      } finally {
        await p.close();
        await small.close();
      }
    },
  );

  it('a forged handle in a worker is ERR_INVALID_HANDLE', async () => {
    expect(await pool.run('tryRaw', 0x7fff1234)).to.equal('ERR_INVALID_HANDLE');
    const stale = heap.store.scope(() => ExternRef.new(heap.store, 1).toRaw());
    await heap.gc();
    expect(await pool.run('tryRaw', stale)).to.equal('ERR_INVALID_HANDLE');
  });

  it('task errors keep their code, and the transfers they were given are released', async () => {
    await heap.store.scope(async () => {
      const r = ExternRef.new(heap.store, 'arg');
      const err = await rejectsCode(pool.run('fail', r), 'E_TASK');
      expect(err.message).to.equal('task failed on purpose');
      await rejectsCode(pool.run('noSuchTask', r), 'ERR_NO_SUCH_TASK');
      expect(r.strongCount()).to.equal(1);
    });
  });

  it('a root of another heap passed to run is ERR_CROSS_STORE and nothing is sent', async () => {
    const other = await Heap.create();
    try {
      const foreign = ExternRef.newManuallyRooted(other.store, 'x');
      await rejectsCode(pool.run('echo', foreign), 'ERR_CROSS_STORE');
      expect(foreign.strongCount()).to.equal(1);
    } finally {
      await other.close();
    }
  });

  it('aborting a running task terminates its worker and releases everything it held', async () => {
    await heap.store.scope(async () => {
      const r = ExternRef.new(heap.store, { n: 0 });
      const ac = new AbortController();
      const holding = pool.runTask({ task: 'holdLease', args: [r], signal: ac.signal });
      await waitFor(() => r.strongCount() === 2, 'the worker to adopt its argument');
      ac.abort();
      await holding.then(
        () => expect.fail('the task should have been aborted'),
        () => undefined,
      );
      await waitFor(() => r.strongCount() === 1, 'the killed worker’s counts to be released');
      // The lease the dead worker held was broken: a new dataMut gets through at once.
      expect(await r.dataMut((v: { n: number }) => ({ n: v.n + 1 }))).to.deep.equal({ n: 1 });
    });
  });

  it('a thread created by the user attaches a store, and its counts are released when it exits', async () => {
    await heap.store.scope(async () => {
      const r = ExternRef.new(heap.store, 'from main');
      const link = heap.createStoreLink();
      const worker = startWorker('hold-counts.ts', {
        workerData: { link, raw: r.toRaw() },
        transferList: link.transferList,
      });
      expect(await firstMessage(worker)).to.equal('from main');
      expect(r.strongCount()).to.equal(11);
      await worker.terminate();
      await waitFor(() => r.strongCount() === 1, 'the exited thread’s counts to be released');
    });
  });
});
