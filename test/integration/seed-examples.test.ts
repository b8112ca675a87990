/** The seed documents' examples, translated to sharedref. */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExternRef, GcHeapOutOfMemory, Heap, RootScope } from '../../src';
import { hostModule, rejectsCode } from '../helpers';

describe('seed examples', () => {
  let heap: Heap;
  afterEach(async () => {
    await heap?.close();
  });

  it('wraps a value and reads it back, with a runtime type check', async () => {
    heap = await Heap.create();
    heap.store.scope(() => {
      const r = ExternRef.new(heap.store, 'hello!');
      expect(r.typeOf()).to.equal('string');
      expect(r.typeOf()).not.to.equal('number');
      expect(r.dataSync()).to.equal('hello!');
    });
  });

  it('data_mut adds 10 and a later data sees it', async () => {
    heap = await Heap.create();
    await heap.store.scope(async () => {
      const r = ExternRef.new(heap.store, 5);
      await r.dataMut((n: number) => n + 10);
      expect(await r.data()).to.equal(15);
      const other = heap.createStore();
      expect(ExternRef.fromRaw(other, r.toRaw())!.dataSync()).to.equal(15);
      other.close();
    });
  });

  it('on out-of-memory, collects and retries with the value from intoInner()', async () => {
    heap = await Heap.create({ capacity: 4, batchSize: 1 });
    const scope = new RootScope(heap.store);
    const keep = [1, 2, 3, 4].map((n) => ExternRef.new(heap.store, n));
    let err: unknown;
    try {
      ExternRef.new(heap.store, 'hello!');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(GcHeapOutOfMemory);
    const oom = err as GcHeapOutOfMemory<string>;
    expect(oom.code).to.equal('ERR_GC_HEAP_OOM');
    scope.close(); // the four roots go away; their slots are garbage until a collection
    expect(keep[0]!.isRooted).to.equal(false);
    const report = await heap.gc();
    // All four are freed by this collection, or by an automatic one just before it (the debug
    // run collects every 20 ms), so the test counts what is gone, not which collection took it.
    expect(report.live, 'nothing holds a slot after the collection').to.equal(0);
    expect(heap.stats().disposed, 'the four values were disposed').to.equal(4);
    heap.store.scope(() => {
      const r = ExternRef.new(heap.store, oom.intoInner());
      expect(r.dataSync()).to.equal('hello!');
    });
  });

  it('builds a file in place and writes to it through call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sharedref-'));
    const path = join(dir, 'some-file.txt');
    try {
      heap = await Heap.create({ hostModule });
      await heap.store.scope(async () => {
        const f = await ExternRef.newWith(heap.store, 'file', path);
        expect(f.typeOf()).to.equal('HostFile');
        expect(f.typeOf()).not.to.equal('string');
        await f.call('write', 'Hello, `ExternRef`!\n');
        f.callSync('write', 'second line\n');
      });
      await heap.gc(); // the file's last root is gone: its disposer closes it
      expect(readFileSync(path, 'utf8')).to.equal('Hello, `ExternRef`!\nsecond line\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a value built in place cannot be read as data, only used through call', async () => {
    heap = await Heap.create({ hostModule });
    await heap.store.scope(async () => {
      const t = await ExternRef.newWith(heap.store, 'tracked', 7);
      expect(await t.call('get')).to.equal(7);
      await rejectsCode(t.data(), 'ERR_NOT_CLONEABLE');
    });
  });
});
