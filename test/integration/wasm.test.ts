/** The Wasm embedding: Module, Linker, typed functions, both ABIs, traps (Wasmtime's behaviours ported). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { ExternRef, Heap, Linker, Module, type Rooted, WasmTrap } from '../../src';
import { hostModule, tasksFile, throwsCode, waitFor } from '../helpers';
import {
  DROPPING_WAT,
  FORWARD_WAT,
  IDENTITY_WAT,
  KEEPER_WAT,
  MANY_LIVE_WAT,
  MIDDLE_OF_ARGS_WAT,
  SEED_RAW_WAT,
  SEED_WAT,
  TABLE_WAT,
} from '../fixtures/wat';

const gc = (globalThis as { gc?: () => void }).gc;

/** Lets V8 collect unreachable guest objects and run their finalizers, until `done()`. */
async function collectV8Until(done: () => boolean, what: string): Promise<void> {
  await waitFor(() => {
    gc?.();
    return done();
  }, what);
}

const EXT2 = { params: ['externref', 'externref'], results: ['externref'] } as const;

describe('wasm embedding', () => {
  let heap: Heap;
  beforeEach(async () => {
    heap = await Heap.create({ hostModule });
  });
  afterEach(async () => {
    await heap.close();
  });

  const seedLinker = (): Linker =>
    new Linker(heap.store).funcWrap(
      'host-string',
      'concat',
      { params: ['externref', 'externref'], results: ['externref'] },
      (caller, a: Rooted | null, b: Rooted | null) =>
        ExternRef.new(caller.store, String(a!.dataSync()) + String(b!.dataSync())),
    );

  it('runs the seed WAT verbatim on the main thread and returns "Hello, World!"', () => {
    heap.store.scope(() => {
      const hello = ExternRef.new(heap.store, 'Hello, ');
      const world = ExternRef.new(heap.store, 'World!');
      const run = seedLinker()
        .instantiate(Module.fromText(SEED_WAT))
        .getTypedFunc('run', { ...EXT2, params: [...EXT2.params], results: [...EXT2.results] });
      const result = run(hello, world) as Rooted;
      expect(result.dataSync()).to.equal('Hello, World!');
    });
  });

  it('runs the seed WAT verbatim inside pool workers', async () => {
    const pool = heap.createPool({ filename: tasksFile, minThreads: 2, maxThreads: 2 });
    try {
      await heap.store.scope(async () => {
        const hello = ExternRef.new(heap.store, 'Hello, ');
        const world = ExternRef.new(heap.store, 'World!');
        const results = (await Promise.all([
          pool.run('seedWasm', hello, world),
          pool.run('seedWasm', world, hello),
        ])) as Rooted[];
        expect(results.map((r) => r.dataSync())).to.deep.equal(['Hello, World!', 'World!Hello, ']);
      });
    } finally {
      await pool.close();
    }
  });

  it('runs the raw-ABI twin of the seed', () => {
    const linker = new Linker(heap.store).funcWrap(
      'host-string',
      'concat',
      { params: ['handle', 'handle'], results: ['handle'] },
      (caller, a: Rooted | null, b: Rooted | null) =>
        ExternRef.new(caller.store, String(a!.dataSync()) + String(b!.dataSync())),
    );
    heap.store.scope(() => {
      const run = linker
        .instantiate(Module.fromText(SEED_RAW_WAT))
        .getTypedFunc('run', { params: ['handle', 'handle'], results: ['handle'] });
      const result = run(ExternRef.new(heap.store, 'Hello, '), ExternRef.new(heap.store, 'World!')) as Rooted;
      expect(result.dataSync()).to.equal('Hello, World!');
    });
    expect(heap.store.rootCount).to.equal(0); // the call's and the import's roots are all gone
  });

  it('identity survives a trip through Wasm and null maps to null, in both ABIs', () => {
    const inst = new Linker(heap.store).instantiate(Module.fromText(IDENTITY_WAT));
    const id = inst.getTypedFunc('id', { params: ['externref'], results: ['externref'] });
    const idRaw = inst.getTypedFunc('idRaw', { params: ['handle'], results: ['handle'] });
    heap.store.scope(() => {
      const r = ExternRef.new(heap.store, { same: 'object' });
      expect(ExternRef.ptrEq(id(r) as Rooted, r)).to.equal(true);
      expect(ExternRef.ptrEq(idRaw(r) as Rooted, r)).to.equal(true);
      expect(id(null)).to.equal(null);
      expect(idRaw(null)).to.equal(null);
    });
  });

  it('a handle the guest keeps with clone survives gc() and is disposed after the guest drops it', async () => {
    const inst = new Linker(heap.store).instantiate(Module.fromText(KEEPER_WAT));
    const keep = inst.getTypedFunc('keep', { params: ['handle'], results: [] });
    const count = inst.getTypedFunc('count', { params: [], results: ['i32'] });
    const release = inst.getTypedFunc('release', { params: [], results: [] });
    const log = heap.store.scope(() => ExternRef.newWithSync(heap.store, 'disposalLog').toManuallyRooted());
    await heap.store.scope(async () => keep(await ExternRef.newWith(heap.store, 'tracked', 42)));
    expect(count()).to.equal(1); // only the guest's count is left
    await heap.gc();
    expect(await log.call('entries')).to.deep.equal([]);
    release();
    await heap.gc();
    expect(await log.call('entries')).to.deep.equal([42]);
    log.unroot();
  });

  it('sharedref.eq and is_null compare handles; dropping a count never taken traps', () => {
    const inst = new Linker(heap.store).instantiate(Module.fromText(KEEPER_WAT));
    const isNull = inst.getTypedFunc('isNull', { params: ['handle'], results: ['i32'] });
    const eq = inst.getTypedFunc('eq', { params: ['handle', 'handle'], results: ['i32'] });
    const dropTwice = inst.getTypedFunc('dropTwice', { params: ['handle'], results: [] });
    heap.store.scope(() => {
      const a = ExternRef.new(heap.store, 1);
      const b = ExternRef.new(heap.store, 1);
      expect([isNull(null), isNull(a), eq(a, a), eq(a, b)]).to.deep.equal([1, 0, 1, 0]);
      const trap = throwsCode(() => dropTwice(a), 'ERR_WASM_TRAP');
      expect(trap).to.be.instanceOf(WasmTrap);
      expect(a.strongCount()).to.equal(1); // nothing was released twice
    });
  });

  it(
    'many_live_refs: 1024 references held by Wasm across a collection forced from a host call stay ' +
      'valid and are freed after',
    async () => {
      const before = heap.stats();
      const linker = new Linker(heap.store)
        .funcWrap('host', 'make', { params: ['i32'], results: ['handle'] }, (caller, i: number) =>
          ExternRef.new(caller.store, i),
        )
        .funcWrap('host', 'collect', { params: [], results: [] }, () => void heap.gcSync())
        .funcWrap(
          'host',
          'check',
          { params: ['handle', 'i32'], results: ['i32'] },
          (_caller, r: Rooted | null, i: number) => (r!.dataSync() === i ? 1 : 0),
        );
      const run = linker
        .instantiate(Module.fromText(MANY_LIVE_WAT))
        .getTypedFunc('run', { params: ['i32'], results: ['i32'] });
      expect(run(1024)).to.equal(1);
      await heap.gc();
      const after = heap.stats();
      expect(after.created - before.created).to.equal(1024);
      expect(after.disposed - before.disposed).to.equal(1024);
    },
  );

  it(
    'wasm_dropping_refs: 4096 references the guest ignores are all freed (raw ABI at once, native ' +
      'ABI when V8 collects)',
    async () => {
      const before = heap.stats();
      const linker = new Linker(heap.store)
        .funcWrap('host', 'make', { params: [], results: ['externref'] }, (caller) => ExternRef.new(caller.store, 'x'))
        .funcWrap('host', 'makeRaw', { params: [], results: ['handle'] }, (caller) => ExternRef.new(caller.store, 'y'));
      const inst = linker.instantiate(Module.fromText(DROPPING_WAT));
      inst.getTypedFunc('runRaw', { params: ['i32'], results: [] })(4096);
      await heap.gc();
      expect(heap.stats().disposed - before.disposed).to.equal(4096);
      inst.getTypedFunc('run', { params: ['i32'], results: [] })(4096);
      await collectV8Until(() => heap.store.rootCount === 0, 'V8 to collect the dropped externrefs');
      await heap.gc();
      const after = heap.stats();
      expect(after.created - before.created).to.equal(8192);
      expect(after.disposed - before.disposed).to.equal(8192);
    },
  );

  it('no_gc_middle_of_args: three results passed straight into another host function arrive intact 1000 times', () => {
    let seen = 0;
    const linker = new Linker(heap.store)
      .funcWrap('host', 'make3', { params: [], results: ['externref', 'externref', 'externref'] }, (caller) => [
        ExternRef.new(caller.store, 'a'),
        ExternRef.new(caller.store, 'b'),
        ExternRef.new(caller.store, 'c'),
      ])
      .funcWrap('host', 'take3', { params: ['externref', 'externref', 'externref'], results: [] }, (_caller, ...rs) => {
        expect(rs.map((r) => r?.dataSync())).to.deep.equal(['a', 'b', 'c']);
        seen++;
      });
    linker.instantiate(Module.fromText(MIDDLE_OF_ARGS_WAT)).getTypedFunc('run', { params: ['i32'], results: [] })(1000);
    expect(seen).to.equal(1000);
  });

  it(
    'drop_externref_via_table_set: a table slot keeps its value and overwriting releases the old ' +
      'one; fill, copy and grow retain nothing extra',
    async () => {
      const inst = new Linker(heap.store).instantiate(Module.fromText(TABLE_WAT));
      const set = inst.getTypedFunc('set', { params: ['i32', 'externref'], results: [] });
      const get = inst.getTypedFunc('get', { params: ['i32'], results: ['externref'] });
      const fill = inst.getTypedFunc('fill', { params: ['i32', 'externref', 'i32'], results: [] });
      const copy = inst.getTypedFunc('copy', { params: ['i32', 'i32', 'i32'], results: [] });
      const grow = inst.getTypedFunc('grow', { params: ['externref', 'i32'], results: ['i32'] });
      const clear = inst.getTypedFunc('clear', { params: [], results: [] });
      const first = heap.store.scope(() => {
        const r = ExternRef.new(heap.store, 'first');
        set(0, r);
        return r.toRaw();
      });
      await heap.gc();
      heap.store.scope(() => expect((get(0) as Rooted).dataSync()).to.equal('first'));
      heap.store.scope(() => set(0, ExternRef.new(heap.store, 'second')));
      await collectV8Until(
        () =>
          heap.store.scope(() => {
            try {
              return ExternRef.fromRaw(heap.store, first)!.strongCount() === 1;
            } catch {
              return true;
            }
          }),
        'the overwritten reference to be released',
      );
      await heap.gc();
      throwsCode(() => ExternRef.fromRaw(heap.store, first), 'ERR_INVALID_HANDLE');

      const m = ExternRef.newManuallyRooted(heap.store, 'shared');
      heap.store.scope(() => {
        fill(0, m.toRooted(), 4);
        copy(1, 0, 3);
        expect(grow(m.toRooted(), 4)).to.equal(4);
      });
      expect(m.strongCount()).to.equal(2); // our root and the one guest object for all 8 slots
      clear();
      await collectV8Until(() => m.strongCount() === 1, 'the table’s reference to be released');
      m.unroot();
    },
  );

  it(
    'a forged or stale handle reaching an import traps with ERR_INVALID_HANDLE and releases the ' + 'call’s roots',
    async () => {
      let used = 0;
      const linker = new Linker(heap.store)
        .funcWrap('host', 'use', { params: ['handle'], results: ['i32'] }, () => ++used)
        .funcWrap('host', 'boom', { params: ['handle'], results: [] }, () => {
          throw Object.assign(new Error('host failure'), { code: 'E_HOST' });
        });
      const inst = linker.instantiate(Module.fromText(FORWARD_WAT));
      const forward = inst.getTypedFunc('forward', { params: ['i32'], results: ['i32'] });
      for (const forged of [0x12345, -1, 0x7fffffff]) {
        const trap = throwsCode(() => forward(forged), 'ERR_WASM_TRAP');
        expect((trap.cause as { code?: string }).code).to.equal('ERR_INVALID_HANDLE');
      }
      const stale = heap.store.scope(() => ExternRef.new(heap.store, 1).toRaw());
      await heap.gc();
      expect((throwsCode(() => forward(stale), 'ERR_WASM_TRAP').cause as { code?: string }).code).to.equal(
        'ERR_INVALID_HANDLE',
      );
      expect(used).to.equal(0);

      const boom = inst.getTypedFunc('boom', { params: ['handle'], results: [] });
      heap.store.scope(() => {
        const r = ExternRef.new(heap.store, 'arg');
        const trap = throwsCode(() => boom(r), 'ERR_WASM_TRAP');
        expect((trap.cause as Error).message).to.equal('host failure');
        expect((trap.cause as { code?: string }).code).to.equal('E_HOST');
        expect(r.strongCount()).to.equal(1); // the import's root was released
      });
      expect(heap.store.rootCount).to.equal(0);
    },
  );

  it('workers share a WebAssembly.Memory and pass raw handles through it', async () => {
    const pool = heap.createPool({ filename: tasksFile, minThreads: 2, maxThreads: 2 });
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    try {
      await heap.store.scope(async () => {
        const r = ExternRef.new(heap.store, { n: 99 });
        const writer = (await pool.run('sharedPut', memory, 64, r)) as number;
        expect(new Int32Array(memory.buffer)[16]).to.equal(r.toRaw() | 0);
        expect(r.strongCount()).to.equal(2); // ours, and the writer guest's clone
        let otherReader = false;
        for (let attempt = 0; attempt < 20 && !otherReader; attempt++) {
          const reads = (await Promise.all([
            pool.run('sharedTake', memory, 64),
            pool.run('sharedTake', memory, 64),
          ])) as Array<{ value: number; threadId: number }>;
          for (const read of reads) {
            expect(read.value).to.equal(99);
            if (read.threadId !== writer) otherReader = true;
          }
        }
        expect(otherReader, 'a worker other than the writer read the handle').to.equal(true);
        await pool.close(); // the writer's thread ends: its guest's count goes with it (I4)
        await waitFor(() => r.strongCount() === 1, 'the writer guest’s count to be released');
      });
    } finally {
      await pool.close();
    }
  });

  describe("borrowed arguments (a host function's reference arguments take no count)", () => {
    const USE_WAT = `
      (module
        (import "host" "use" (func $use (param i32) (result i32)))
        (func (export "call") (param i32) (result i32) (call $use (local.get 0))))`;

    it('an argument whose object is freed during the call is ERR_INVALID_HANDLE on every later use (I1)', () => {
      const store = heap.store;
      const m = ExternRef.newManuallyRooted(store, 'first');
      const codes: (string | undefined)[] = [];
      const linker = new Linker(store).funcWrap(
        'host',
        'use',
        { params: ['handle'], results: ['i32'] },
        (_c, r: Rooted | null) => {
          expect(r!.dataSync()).to.equal('first');
          m.unroot(); // the only count: the guest passed a raw number it held no count for
          heap.gcSync(); // disposed and freed: the slot's generation moves on
          for (const use of [
            () => r!.dataSync(),
            () => r!.strongCount(),
            () => r!.toManuallyRooted(),
            () => r!.toRaw(),
          ]) {
            try {
              use();
              codes.push('resolved');
            } catch (err) {
              codes.push((err as { code?: string }).code);
            }
          }
          return 0;
        },
      );
      const call = linker
        .instantiate(Module.fromText(USE_WAT))
        .getTypedFunc('call', { params: ['i32'], results: ['i32'] });
      call(m.toRaw());
      expect(codes).to.deep.equal([
        'ERR_INVALID_HANDLE',
        'ERR_INVALID_HANDLE',
        'ERR_INVALID_HANDLE',
        'ERR_INVALID_HANDLE',
      ]);
    });

    it(
      'an argument kept with toManuallyRooted outlives the call with a count of its own; the argument ' +
        'itself ends with the call',
      () => {
        const store = heap.store;
        const m = ExternRef.newManuallyRooted(store, { n: 1 });
        let kept: ReturnType<typeof ExternRef.newManuallyRooted> | null = null;
        let arg: Rooted | null = null;
        const linker = new Linker(store).funcWrap(
          'host',
          'use',
          { params: ['handle'], results: ['i32'] },
          (_c, r: Rooted | null) => {
            arg = r;
            kept = r!.toManuallyRooted();
            return r!.strongCount();
          },
        );
        const call = linker
          .instantiate(Module.fromText(USE_WAT))
          .getTypedFunc('call', { params: ['handle'], results: ['i32'] });
        // Inside: m, the Rooted passed in, the count the borrowed argument took before it was
        // cloned, and the clone.
        expect(store.scope(() => call(m.toRooted()))).to.equal(4);
        expect(m.strongCount(), 'after the call: m and the kept clone').to.equal(2);
        throwsCode(() => arg!.dataSync(), 'ERR_UNROOTED');
        expect(kept!.dataSync()).to.deep.equal({ n: 1 });
        kept!.unroot();
        m.unroot();
      },
    );

    it(
      'an argument kept past its call is ERR_UNROOTED, also once ' +
        "later calls reuse the import's scope, and changes no count",
      () => {
        const store = heap.store;
        const m = ExternRef.newManuallyRooted(store, 'kept');
        const args: Rooted[] = [];
        const linker = new Linker(store).funcWrap(
          'host',
          'use',
          { params: ['handle'], results: ['i32'] },
          (_c, r: Rooted | null) => {
            for (const earlier of args) throwsCode(() => earlier.dataSync(), 'ERR_UNROOTED');
            expect(r!.isRooted).to.equal(true);
            args.push(r!);
            return r!.strongCount();
          },
        );
        const call = linker
          .instantiate(Module.fromText(USE_WAT))
          .getTypedFunc('call', { params: ['i32'], results: ['i32'] });
        const raw = m.toRaw();
        expect([call(raw), call(raw), call(raw)], 'a borrowed argument adds no count').to.deep.equal([1, 1, 1]);
        expect(args).to.have.length(3);
        for (const r of args) {
          expect(r.isRooted).to.equal(false);
          throwsCode(() => r.dataSync(), 'ERR_UNROOTED');
          throwsCode(() => r.toManuallyRooted(), 'ERR_UNROOTED');
          expect(ExternRef.ptrEq(r, m), 'identity survives the end of the call').to.equal(true);
        }
        expect(m.strongCount()).to.equal(1);
        m.unroot();
      },
    );
  });

  it(
    'a host function that returns a promise traps with a TypeError, for every result count, and ' +
      'leaves no root behind',
    () => {
      const store = heap.store;
      const wat = `
      (module
        (import "host" "r0" (func $r0 (param i32)))
        (import "host" "r1" (func $r1 (param i32) (result i32)))
        (import "host" "r2" (func $r2 (param i32) (result i32 i32)))
        (func (export "c0") (param i32) (call $r0 (local.get 0)))
        (func (export "c1") (param i32) (result i32) (call $r1 (local.get 0)))
        (func (export "c2") (param i32) (result i32 i32) (call $r2 (local.get 0))))`;
      // Not a host function's type (it returns a promise): the run-time check is under test.
      const later = (async (): Promise<number> => 1) as never;
      const linker = new Linker(store)
        .funcWrap('host', 'r0', { params: ['handle'], results: [] }, later)
        .funcWrap('host', 'r1', { params: ['handle'], results: ['i32'] }, later)
        .funcWrap('host', 'r2', { params: ['handle'], results: ['i32', 'i32'] }, later);
      const inst = linker.instantiate(Module.fromText(wat));
      const m = ExternRef.newManuallyRooted(store, 'arg');
      const before = store.rootCount;
      for (const [name, results] of [
        ['c0', []],
        ['c1', ['i32']],
        ['c2', ['i32', 'i32']],
      ] as const) {
        const call = inst.getTypedFunc(name, { params: ['i32'], results: [...results] });
        const trap = throwsCode(() => call(m.toRaw()), 'ERR_WASM_TRAP');
        expect(trap.cause, name).to.be.instanceOf(TypeError);
        expect((trap.cause as Error).message, name).to.match(
          /host\.r\d: host functions called from Wasm must be synchronous/,
        );
      }
      expect(store.rootCount, 'no root left by the failed calls').to.equal(before);
      expect(m.strongCount()).to.equal(1);
      m.unroot();
    },
  );

  it(
    'imports work in a process that may not compile code from strings ' + '(--disallow-code-generation-from-strings)',
    async () => {
      const script = join(__dirname, '..', 'fixtures', 'no-codegen.ts');
      const args = ['--disallow-code-generation-from-strings', '-r', 'ts-node/register/transpile-only', script];
      const out = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          args,
          { cwd: join(__dirname, '..', '..'), timeout: 60_000 },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
        ),
      );
      const seen = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
      expect(seen).to.deep.equal({
        codegen: false,
        picked: 'a',
        made: 'made',
        forged: 'ERR_WASM_TRAP/ERR_INVALID_HANDLE',
        roots: 0,
      });
    },
  );

  it('names every import the linker does not define', () => {
    const err = throwsCode(
      () => new Linker(heap.store).instantiate(Module.fromText(MANY_LIVE_WAT)),
      'ERR_MISSING_IMPORT',
    );
    expect(err.message)
      .to.include('host.make (function)')
      .and.include('host.collect (function)')
      .and.include('host.check (function)');
    expect(err.message).not.to.include('sharedref.');
  });

  it('rejects bad signatures and arity with TypeErrors naming the problem', () => {
    const linker = new Linker(heap.store);
    expect(() => linker.funcWrap('a', 'b', { params: ['i33'], results: [] } as never, () => 0 as never)).to.throw(
      TypeError,
      /signature.params has "i33"/,
    );
    // A regression: define() used to accept anything, and the import was then reported missing.
    expect(() => linker.define('env', 'f', (() => 0) as never)).to.throw(
      TypeError,
      /define\("env", "f"\): expected a WebAssembly.Memory, Table or Global.*funcWrap/,
    );
    const inst = linker.instantiate(Module.fromText(IDENTITY_WAT));
    expect(() => inst.getTypedFunc('nope', { params: [], results: [] })).to.throw(
      TypeError,
      /no function named "nope"/,
    );
    // The signature is checked against the module's type (arity included): ERR_TYPE_MISMATCH.
    const mismatch = throwsCode(() => inst.getTypedFunc('id', { params: [], results: [] }), 'ERR_TYPE_MISMATCH');
    expect(mismatch.message).to.equal(
      'export "id": the module\'s type is (func (param externref) (result externref)), but (func) was given',
    );
    expect(() => Module.fromText('(module (func (export "f") (result i32)')).to.throw(SyntaxError, /Module.fromText/);
    expect(() => Module.fromText('(module (func (export "f") (result i32) i64.const 1))')).to.throw(
      WebAssembly.CompileError,
    );
  });
});
