/**
 * AssemblyScript, end to end: the guests of examples/assemblyscript, compiled from source by asc
 * in this run, under both ABIs, in pool workers sharing a memory, and through asc's own JS glue.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { type Caller, ExternRef, ExternRefObject, Heap, Linker, Module, type Pool, type Rooted } from '../../src';
import { asBuild, buildGuests, guestPath, liftString } from '../fixtures/as-build';
import { hostModule, waitFor } from '../helpers';

const gc = (globalThis as { gc?: () => void }).gc;
const asTasks = join(__dirname, '..', 'fixtures', 'as-tasks.ts');

/** AssemblyScript's `env.abort(message, file, line, column)`, as a host function that throws. */
function abort(caller: Caller, message: number, file: number, line: number, column: number): never {
  const memory = caller.instance?.exports.memory;
  if (!(memory instanceof WebAssembly.Memory)) throw new Error(`abort at line ${line}`);
  throw new Error(`${liftString(memory, message)} in ${liftString(memory, file)}:${line >>> 0}:${column >>> 0}`);
}

/** A linker with the host functions the example guests import. */
function guestLinker(heap: Heap): Linker {
  return new Linker(heap.store)
    .funcWrap('env', 'abort', { params: ['i32', 'i32', 'i32', 'i32'], results: [] }, abort)
    .funcWrap(
      'host',
      'make',
      { params: ['externref', 'i32'], results: ['externref'] },
      (c, text: Rooted | null, n: number) => ExternRef.new(c.store, String(text!.dataSync()).repeat(n)),
    )
    .funcWrap(
      'host',
      'length',
      { params: ['externref'], results: ['i32'] },
      (_c, r: Rooted | null) => String(r!.dataSync()).length,
    )
    .funcWrap(
      'host',
      'concat',
      { params: ['handle', 'handle'], results: ['handle'] },
      (c, a: Rooted | null, b: Rooted | null) => ExternRef.new(c.store, String(a!.dataSync()) + String(b!.dataSync())),
    );
}

const loadGuest = (name: 'native' | 'raw' | 'board'): Module => Module.fromBinary(readFileSync(guestPath(name)));

describe('AssemblyScript guests (examples/assemblyscript)', function () {
  this.timeout(120_000);
  let heap: Heap;
  before(async () => {
    await buildGuests();
  });
  beforeEach(async () => {
    heap = await Heap.create({ hostModule });
  });
  afterEach(async () => {
    await heap.close();
  });

  it(
    'a native-ABI guest keeps host objects in externref globals, one count each; the host reads and writes ' +
      'its exported global',
    async () => {
      const store = heap.store;
      const inst = guestLinker(heap).instantiate(loadGuest('native'));
      const keep = inst.getTypedFunc('keep', { params: ['externref'], results: [] });
      const shift = inst.getTypedFunc('shift', { params: [], results: [] });
      const kept = inst.getTypedFunc('kept', { params: [], results: ['externref'] });
      const keptSecond = inst.getTypedFunc('keptSecond', { params: [], results: ['externref'] });
      const keepNew = inst.getTypedFunc('keepNew', { params: ['externref', 'i32'], results: ['i32'] });
      const clear = inst.getTypedFunc('clear', { params: [], results: [] });

      const m = ExternRef.newManuallyRooted(store, 'kept');
      store.scope(() => keep(m.toRooted()));
      expect(m.strongCount(), 'our root and the guest global').to.equal(2);
      shift();
      store.scope(() => {
        expect(kept()).to.equal(null);
        expect(ExternRef.ptrEq(keptSecond() as Rooted, m)).to.equal(true);
      });
      expect(store.scope(() => keepNew(ExternRef.new(store, 'ab'), 3))).to.equal(6);
      const made = store.scope(() => (kept() as Rooted).toManuallyRooted());
      expect(made.dataSync()).to.equal('ababab');
      expect(made.strongCount(), 'ours and the guest global').to.equal(2);

      // The exported global from the host: a root goes in with a count of its own and comes out as a root.
      const current = inst.getGlobal('current');
      const takeCurrent = inst.getTypedFunc('takeCurrent', { params: [], results: [] });
      store.scope(() => current.set(ExternRef.new(store, 'from the host')));
      store.scope(() => expect((current.get() as Rooted).dataSync()).to.equal('from the host'));
      takeCurrent();
      store.scope(() => {
        expect(current.get()).to.equal(null);
        expect((kept() as Rooted).dataSync()).to.equal('from the host');
      });

      clear();
      await waitFor(() => {
        gc?.();
        return m.strongCount() === 1 && made.strongCount() === 1;
      }, 'V8 to collect the references the guest dropped');
      m.unroot();
      made.unroot();
    },
  );

  it(
    'a raw-ABI guest keeps handles in a Map<u32, u32> with sharedref.clone and drop from the shipped ' + 'declarations',
    async () => {
      const store = heap.store;
      const before = heap.stats();
      const inst = guestLinker(heap).instantiate(loadGuest('raw'));
      const fn = (name: string, params: ('i32' | 'handle')[], results: ('i32' | 'handle')[]) =>
        inst.getTypedFunc(name, { params, results });
      const put = fn('put', ['i32', 'handle'], []);
      const get = fn('get', ['i32'], ['handle']);
      const remove = fn('remove', ['i32'], ['i32']);
      const size = fn('size', [], ['i32']);
      const strongCount = fn('strongCount', ['i32'], ['i32']);
      const same = fn('same', ['i32', 'i32'], ['i32']);
      const concatInto = fn('concatInto', ['i32', 'i32', 'i32'], []);
      const clear = fn('clear', [], []);

      store.scope(() => {
        const hello = ExternRef.new(store, 'Hello, ');
        const world = ExternRef.new(store, 'World!');
        put(1, hello);
        put(2, world);
        put(3, hello);
        expect(hello.strongCount(), 'our root and two guest counts').to.equal(3);
        expect([size(), same(1, 3), same(1, 2), strongCount(2)]).to.deep.equal([3, 1, 0, 2]);
        concatInto(1, 2, 4);
        expect((get(4) as Rooted).dataSync()).to.equal('Hello, World!');
      });
      // The host's handle result lived until the typed call returned; only the guest's count is left.
      expect(strongCount(4)).to.equal(1);
      expect(remove(3)).to.equal(1);
      expect(remove(3)).to.equal(0);
      expect(strongCount(1)).to.equal(1);
      clear();
      expect(size()).to.equal(0);
      expect(store.rootCount).to.equal(0);
      await heap.gc();
      const after = heap.stats();
      expect(after.created - before.created).to.equal(3);
      expect(after.disposed - before.disposed, 'every object, once the guest dropped it').to.equal(3);
    },
  );

  describe('in pool workers', () => {
    let pool: Pool;
    afterEach(async () => {
      await pool?.close();
    });

    it(
      'two pool workers share raw handles through a board in shared memory (static region, stub runtime, ' +
        'zero-filled memory)',
      async () => {
        pool = heap.createPool({ filename: asTasks, minThreads: 2, maxThreads: 2 });
        const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
        const wasm = guestPath('board');
        await heap.store.scope(async () => {
          const r = ExternRef.new(heap.store, { n: 7 });
          const writer = (await pool.run('publish', wasm, memory, 3, r)) as number;
          expect(new Uint32Array(memory.buffer)[(64 >> 2) + 3]).to.equal(r.toRaw());
          expect(r.strongCount(), 'ours and the publishing worker’s').to.equal(2);
          let otherReader = false;
          for (let attempt = 0; attempt < 20 && !otherReader; attempt++) {
            // Each read instantiates the guest again on the same memory: the board must survive it.
            const reads = (await Promise.all([
              pool.run('read', wasm, memory, 3),
              pool.run('read', wasm, memory, 3),
            ])) as Array<{ value: unknown; threadId: number }>;
            for (const read of reads) {
              expect(read.value).to.deep.equal({ n: 7 });
              if (read.threadId !== writer) otherReader = true;
            }
          }
          expect(otherReader, 'a worker other than the publisher read the handle').to.equal(true);
          await pool.close(); // the publisher's store closes: its count goes with it (I4)
          await waitFor(() => r.strongCount() === 1, 'the publishing worker’s count to be released');
        });
      },
    );
  });

  describe("asc's generated JS glue (--bindings raw) over linker.imports(module)", () => {
    type Glue = {
      instantiate(module: WebAssembly.Module, imports: WebAssembly.Imports): Promise<Record<string, never>>;
    };
    // The glue is an ES module without top-level await: Node 20.19 loads it with require.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const glue = (name: 'native' | 'raw'): Glue => require(join(asBuild, `${name}.js`)) as Glue;

    it('instantiates the native guest itself; references and its own string conversions cross it', async () => {
      const store = heap.store;
      const module = loadGuest('native');
      const exports = (await glue('native').instantiate(module.wasm, guestLinker(heap).imports(module))) as Record<
        string,
        (...a: unknown[]) => unknown
      >;
      expect(exports.greet!('sharedref')).to.equal('Hello, sharedref!'); // the glue's string lowering and lifting
      const m = ExternRef.newManuallyRooted(store, 'base');
      store.scope(() => {
        expect(exports.keepNew!(ExternRefObject.fromRoot(m.toRooted()), 2)).to.equal(8);
        const made = ExternRefObject.toRooted(store, exports.kept!())!;
        expect(made.dataSync()).to.equal('basebase');
        exports.keep!(ExternRefObject.fromRoot(m.toRooted()));
        expect(ExternRef.ptrEq(ExternRefObject.toRooted(store, exports.kept!())!, m)).to.equal(true);
      });
      exports.clear!();
      await waitFor(() => {
        gc?.();
        return m.strongCount() === 1 && store.rootCount === 1;
      }, 'V8 to collect the guest’s references (the scope’s roots are gone already)');
      m.unroot();
    });

    it('instantiates the raw guest itself; a handle a host function returns is released after the call', async () => {
      const store = heap.store;
      const module = loadGuest('raw');
      const exports = (await glue('raw').instantiate(module.wasm, guestLinker(heap).imports(module))) as Record<
        string,
        (...a: number[]) => number
      >;
      const hello = ExternRef.newManuallyRooted(store, 'Hello, ');
      const world = ExternRef.newManuallyRooted(store, 'World!');
      exports.put!(1, hello.toRaw());
      exports.put!(2, world.toRaw());
      exports.concatInto!(1, 2, 3); // host.concat's result is a temporary of this call
      const joined = exports.get!(3) >>> 0;
      await Promise.resolve(); // the glue called the export itself: temporaries go when this run of JS ends
      const root = store.scope(() => ExternRef.fromRaw(store, joined)!.toManuallyRooted());
      expect(root.dataSync()).to.equal('Hello, World!');
      expect(root.strongCount(), 'the guest’s count and ours, no temporary').to.equal(2);
      exports.clear!();
      expect(root.strongCount()).to.equal(1);
      for (const m of [hello, world, root]) m.unroot();
      expect(store.rootCount).to.equal(0);
    });
  });
});
