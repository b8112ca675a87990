/**
 * Kill points: seeded storms that kill pool workers at chosen points — mid-transfer, mid-`dataMut`,
 * mid-Wasm call, during collections — and then demand exact accounting once the pool has drained
 * (I3, I4): every count left is one the main thread holds, the heap is empty after unrooting, and
 * every `Tracked` value built (by the main thread or by a worker that died) is disposed exactly
 * once. Workers die by `process.exit` inside a task, or by an abort (which terminates the thread)
 * sent when the worker signals, through a shared flag, that it reached the point.
 *
 * Set SHAREDREF_SEED to replay a run.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { ExternRef, Heap, type ManuallyRooted, Module, type Pool, type Rooted } from '../../src';
import { seeded, waitFor } from '../helpers';
import { loose } from '../fixtures/loose-slots';
import { go, newFlag, reached } from '../fixtures/signals';
import { SEED_WAT } from '../fixtures/wat';
import { S_OWNER, SLOT_FREE, SLOT_RESERVED } from '../../src/shared/layout';
import { coreOf } from '../../src/store/internal';

const SEED = Number(process.env.SHAREDREF_SEED ?? 0x6b111);
const killTasksFile = join(__dirname, '..', 'fixtures', 'kill-tasks.ts');
const countingHostModule = join(__dirname, '..', 'fixtures', 'counting-host-module.ts');

/** A raw-ABI guest that calls `host.step(handle, i)` n times, keeping the last 16 results with `sharedref.clone`. */
const STEPS_WAT = `
(module
  (import "host" "step" (func $step (param i32 i32) (result i32)))
  (import "sharedref" "clone" (func $clone (param i32) (result i32)))
  (import "sharedref" "drop" (func $drop (param i32)))
  (memory 1)
  (func (export "run") (param $h i32) (param $n i32) (result i32)
    (local $i i32) (local $at i32) (local $old i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $at (i32.shl (i32.and (local.get $i) (i32.const 15)) (i32.const 2)))
        (local.set $old (i32.load (local.get $at)))
        (if (local.get $old) (then (call $drop (local.get $old))))
        (i32.store (local.get $at) (call $clone (call $step (local.get $h) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.set $at (i32.const 0))
    (loop $release
      (local.set $old (i32.load (local.get $at)))
      (if (local.get $old) (then (call $drop (local.get $old)) (i32.store (local.get $at) (i32.const 0))))
      (local.set $at (i32.add (local.get $at) (i32.const 4)))
      (br_if $release (i32.lt_u (local.get $at) (i32.const 64))))
    (local.get $i)))
`;

/** The error of a task whose worker called `process.exit(code)`. */
function expectExited(err: unknown, code: number): void {
  expect(err).to.be.instanceOf(Error);
  expect((err as Error).message).to.equal(`worker exited with code: ${code}`);
}

/** The error of an aborted task. */
function expectAborted(err: unknown): void {
  expect(err).to.be.instanceOf(Error);
  expect((err as Error).name).to.equal('AbortError');
}

/** `n` picks from `from` (repeats allowed), as roots in the current scope. */
function pick(rand: () => number, from: readonly ManuallyRooted[], n: number): Rooted[] {
  return Array.from({ length: n }, () => from[Math.floor(rand() * from.length)]!.toRooted());
}

/** What a test holds, and the host module's logs. */
interface Books {
  readonly held: ManuallyRooted[];
  readonly disposals: ManuallyRooted;
  readonly creations: ManuallyRooted;
}

async function openBooks(heap: Heap, objects: number, tracked: number): Promise<Books> {
  const make = (factory: string, ...args: unknown[]): Promise<ManuallyRooted> =>
    heap.store.scope(async () => (await ExternRef.newWith(heap.store, factory, ...args)).toManuallyRooted());
  const books: Books = { held: [], disposals: await make('disposalLog'), creations: await make('creationLog') };
  for (let i = 0; i < objects; i++) books.held.push(ExternRef.newManuallyRooted(heap.store, { i }));
  for (let i = 0; i < tracked; i++) books.held.push(await make('countedTracked', i));
  return books;
}

/**
 * The slots that are not FREE, besides the handles in `expected`, described for a failure message
 * (state, count, owner store, type): what a leak left behind. Reads the slot table directly.
 */
function liveBesides(heap: Heap, expected: ReadonlySet<number>): string {
  const core = coreOf(heap.store);
  const t = loose(core.slots); // every index, by number
  const out: string[] = [];
  for (let i = 0; i < t.capacity; i++) {
    const state = t.state(i);
    if (state === SLOT_FREE || state === SLOT_RESERVED) continue;
    const h = t.handleOf(i);
    if (expected.has(h)) continue;
    out.push(
      `0x${h.toString(16)} state ${state} count ${t.count(i)} owner ` +
        `${t.i32[t.word(i, S_OWNER)]} type ${core.types.name(t.tag(i))}`,
    );
  }
  return out.length === 0 ? `none (pending releases ${heap.stats().pendingRelease})` : out.join('; ');
}

/**
 * Drains the pool and checks the accounting: each held object's count is exactly the main
 * thread's roots of it; nothing else is live; after unrooting, every `Tracked` built is disposed
 * exactly once and the heap is empty.
 */
async function drainAndAccount(heap: Heap, pool: Pool, books: Books): Promise<void> {
  await pool.close();
  await waitFor(() => heap.stats().stores === 1, 'every worker store to be released');
  const mine = new Map<number, number>();
  for (const m of books.held) mine.set(m.toRaw(), (mine.get(m.toRaw()) ?? 0) + 1);
  for (const m of books.held)
    expect(m.strongCount(), `count of 0x${m.toRaw().toString(16)}`).to.equal(mine.get(m.toRaw()));
  expect(heap.store.rootCount).to.equal(books.held.length + 2);
  await heap.gc();
  const expected = new Set([...mine.keys(), books.disposals.toRaw(), books.creations.toRaw()]);
  expect(
    heap.stats().live,
    `live objects after the pool drained: the held ones and the two logs; also live: ${liveBesides(heap, expected)}`,
  ).to.equal(mine.size + 2);

  for (const m of books.held.splice(0)) m.unroot();
  await heap.gc();
  const made = ((await books.creations.call('entries')) as number[]).sort((a, b) => a - b);
  const disposed = ((await books.disposals.call('entries')) as number[]).sort((a, b) => a - b);
  books.disposals.unroot();
  books.creations.unroot();
  await heap.gc();
  const s = heap.stats();
  expect(s.live).to.equal(0);
  expect(s.pendingRelease).to.equal(0);
  expect(s.disposed).to.equal(s.created);
  expect(heap.store.rootCount).to.equal(0);
  expect(new Set(made).size, 'Tracked ids are unique').to.equal(made.length);
  expect(new Set(disposed).size, 'no Tracked is disposed twice').to.equal(disposed.length);
  const never = made.filter((id) => !disposed.includes(id));
  expect(never, 'Tracked values built but never disposed').to.deep.equal([]);
  expect(disposed, 'every Tracked built is disposed exactly once').to.deep.equal(made);
}

describe('kill points', () => {
  let heap: Heap | undefined;
  afterEach(async () => {
    await heap?.close();
    heap = undefined;
  });

  it(`a worker killed mid-transfer releases the roots in flight both ways (seed ${SEED})`, async () => {
    const rand = seeded(SEED ^ 0xa);
    const h = (heap = await Heap.create({ hostModule: countingHostModule }));
    const pool = h.createPool({ filename: killTasksFile, minThreads: 2, maxThreads: 2 });
    const books = await openBooks(h, 8, 4);
    const modes = ['echoThenExit', 'adoptAndExit', 'abortMidPack', 'abortAfterDispatch'] as const;
    const tally = { resolved: 0, killed: 0, collateral: 0 };

    const round = (n: number): Promise<void> =>
      h.store.scope(async () => {
        const mode = modes[n % modes.length]!;
        const picks = pick(rand, books.held, 1 + Math.floor(rand() * 4));
        const flag = newFlag();
        const ac = new AbortController();
        let task: Promise<unknown>;
        let exitCode = -1;
        if (mode === 'echoThenExit') {
          // The exit lands 0–7 microtasks later (before, during or after the result is packed),
          // on the next immediate, or on a timer (after the result was posted).
          exitCode = 11;
          task = pool.run('echoThenExit', picks, Math.floor(rand() * 10));
        } else if (mode === 'adoptAndExit') {
          exitCode = 12;
          task = pool.run('adoptAndExit', picks);
        } else if (mode === 'abortMidPack') {
          // The worker signals right before its 1500 new roots are packed into the result.
          task = pool.runTask({ task: 'makeMany', args: [1500, flag], signal: ac.signal });
          if (await reached(flag, 0, task)) ac.abort();
        } else {
          // Aborted as the task is posted, a little later, or once the worker adopted the arguments.
          task = pool.runTask({ task: 'keepAndSpin', args: [picks, 200, flag], signal: ac.signal });
          const when = Math.floor(rand() * 3);
          if (when === 0) ac.abort();
          else if (when === 1) setTimeout(() => ac.abort(), rand() * 3);
          else if (await reached(flag, 0, task)) ac.abort();
        }
        try {
          const out = (await task) as Rooted[];
          tally.resolved++;
          if (mode === 'echoThenExit') {
            expect(out).to.have.length(picks.length + 1);
            picks.forEach((p, i) => expect(ExternRef.ptrEq(out[i]!, p)).to.equal(true));
            if (rand() < 0.5) books.held.push(out[picks.length]!.toManuallyRooted());
          } else if (mode === 'abortMidPack') {
            expect(out).to.have.length(1500);
            expect(out[1499]!.dataSync()).to.equal(1499);
          }
          expect(mode, 'adoptAndExit always dies').not.to.equal('adoptAndExit');
        } catch (err) {
          if (err instanceof Error && err.message === 'worker exited with code: 11' && mode !== 'echoThenExit') {
            tally.collateral++; // a worker whose echoThenExit exit came on a timer took this task with it
          } else if (exitCode >= 0) {
            expectExited(err, exitCode);
            tally.killed++;
          } else {
            expectAborted(err);
            tally.killed++;
          }
        }
        if (n % 3 === 0) await h.gc();
      });

    const rounds = 8;
    await Promise.all(
      [0, 1].map(async (lane) => {
        for (let n = lane; n < rounds; n += 2) await round(n);
      }),
    );
    expect(tally.resolved + tally.killed + tally.collateral).to.equal(rounds);
    expect(tally.killed, 'workers were killed').to.be.greaterThan(0);
    await drainAndAccount(h, pool, books);
  });

  it('a value built in place for a worker that dies before publishing its slot is disposed exactly once', async () => {
    const h = (heap = await Heap.create({ hostModule: countingHostModule }));
    const pool = h.createPool({ filename: killTasksFile, minThreads: 1, maxThreads: 1 });
    const books = await openBooks(h, 0, 0);
    const flag = newFlag();
    const ac = new AbortController();
    const task = pool.runTask({ task: 'newWithAndStall', args: [77, flag], signal: ac.signal });
    expect(await reached(flag, 0, task), 'the worker asked for the value').to.equal(true);
    // The coordinator built it (and replied); the worker, spinning, never reads the reply.
    for (let tries = 0; !((await books.creations.call('entries')) as number[]).includes(77); tries++) {
      expect(tries, 'the coordinator built the value').to.be.below(2000);
      await new Promise((r) => setTimeout(r, 5));
    }
    ac.abort();
    await task.then(
      () => expect.fail('newWithAndStall returned'),
      (err: unknown) => expectAborted(err),
    );
    await drainAndAccount(h, pool, books);
  });

  it(
    `a worker killed holding a dataMut lease loses it: the others go on and no update is lost or applied ` +
      `twice (seed ${SEED})`,
    async () => {
      const rand = seeded(SEED ^ 0xb);
      // With this timeout a lease could only be given back by its holder's death: the waiting
      // mutations below finish because the coordinator breaks a dead store's leases (I4, I8).
      const h = (heap = await Heap.create({ hostModule: countingHostModule, leaseTimeoutMs: 600_000 }));
      const pool = h.createPool({ filename: killTasksFile, minThreads: 2, maxThreads: 2 });
      const books = await openBooks(h, 2, 2);
      const counter = ExternRef.newManuallyRooted(h.store, { n: 0, sum: 0 });
      books.held.push(counter);
      const step = (v: { n: number; sum: number }): { n: number; sum: number } => ({
        n: v.n + 1,
        sum: v.sum + v.n + 1,
      });
      let sure = 0; // steps certainly committed
      let maybe = 0; // steps of tasks killed at a random point: any number of them may have committed

      const kinds = ['exitInside', 'spinAbort', 'asyncAbort', 'abortAnywhere'] as const;
      const modes = [...kinds, kinds[Math.floor(rand() * kinds.length)]!];
      for (const mode of modes) {
        const flag = newFlag();
        const ac = new AbortController();
        let victim: Promise<unknown>;
        if (mode === 'exitInside') {
          const commits = Math.floor(rand() * 3);
          sure += commits;
          victim = pool.run('mutateThenExit', counter, commits, flag);
        } else if (mode === 'spinAbort') {
          victim = pool.runTask({ task: 'mutateAndSpin', args: [counter, flag], signal: ac.signal });
        } else if (mode === 'asyncAbort') {
          victim = pool.runTask({ task: 'mutateAsyncAndHang', args: [counter, flag], signal: ac.signal });
        } else {
          victim = pool.runTask({ task: 'bump', args: [counter, 300], signal: ac.signal });
        }
        if (mode !== 'abortAnywhere')
          expect(await reached(flag, 0, victim), `${mode}: the victim holds the lease`).to.equal(true);
        // Competitors: the main thread, and a task on the other worker; both queue behind the lease.
        const mainMut = counter.dataMut(step);
        const other = pool.run('bump', counter, 5);
        sure += 6;
        if (mode === 'exitInside') {
          go(flag, 1);
        } else if (mode === 'abortAnywhere') {
          setTimeout(() => ac.abort(), rand() * 15);
        } else {
          ac.abort();
        }
        try {
          expect(await victim, `${mode} only finishes if the abort came too late`).to.equal(300);
          sure += 300;
        } catch (err) {
          if (mode === 'exitInside') expectExited(err, 13);
          else expectAborted(err);
          if (mode === 'abortAnywhere') maybe += 300;
        }
        expect(await mainMut)
          .to.have.property('n')
          .that.is.greaterThan(0);
        expect(await other).to.equal(5);
      }

      const v = counter.dataSync() as { n: number; sum: number };
      expect(v.sum, 'no torn or lost update: sum = n(n+1)/2').to.equal((v.n * (v.n + 1)) / 2);
      expect(v.n).to.be.within(sure, sure + maybe);
      await h.store.scope(async () => expect(await pool.run('read', counter)).to.deep.equal(v));
      await drainAndAccount(h, pool, books);
    },
  );

  it(
    `a worker killed mid-Wasm call releases the guest's and the call's counts while other workers go on ` +
      `(seed ${SEED})`,
    async () => {
      const rand = seeded(SEED ^ 0xc);
      const h = (heap = await Heap.create({ hostModule: countingHostModule }));
      const pool = h.createPool({ filename: killTasksFile, minThreads: 2, maxThreads: 2 });
      const books = await openBooks(h, 0, 2);
      const a = ExternRef.newManuallyRooted(h.store, 'Hello, ');
      const b = ExternRef.newManuallyRooted(h.store, 'World!');
      books.held.push(a, b);
      const steps = Module.fromText(STEPS_WAT).wasm;
      const seed = Module.fromText(SEED_WAT).wasm;

      let victimsDone = false;
      let survivorRuns = 0;
      const survivors = (async () => {
        while (!victimsDone) {
          await h.store.scope(async () => {
            expect(await pool.run('wasmSteps', steps, a.toRooted(), 32, -1, -1, newFlag())).to.equal(32);
            expect(await pool.run('seedWasmLoop', seed, a.toRooted(), b.toRooted(), 2, -1)).to.equal('Hello, World!');
          });
          survivorRuns++;
          await new Promise((r) => setTimeout(r, 10)); // leave the cores to the replacement workers
        }
      })();

      const kinds = ['exitInImport', 'abortInLoop', 'exitInSeedConcat'] as const;
      const modes = [...kinds, kinds[Math.floor(rand() * kinds.length)]!];
      let killed = 0;
      try {
        for (const mode of modes) {
          await h.store.scope(async () => {
            const flag = newFlag();
            const ac = new AbortController();
            try {
              if (mode === 'exitInImport') {
                await pool.run('wasmSteps', steps, a.toRooted(), 64, Math.floor(rand() * 64), -1, flag);
              } else if (mode === 'exitInSeedConcat') {
                await pool.run('seedWasmLoop', seed, a.toRooted(), b.toRooted(), 40, Math.floor(rand() * 40));
              } else {
                const task = pool.runTask({
                  task: 'wasmSteps',
                  args: [steps, a.toRooted(), 20_000, -1, Math.floor(rand() * 200), flag],
                  signal: ac.signal,
                });
                if (await reached(flag, 0, task)) ac.abort();
                expect(await task, 'the guest finished before the abort').to.equal(20_000);
                return;
              }
              expect.fail(`${mode} returned`);
            } catch (err) {
              if (mode === 'exitInImport') expectExited(err, 14);
              else if (mode === 'exitInSeedConcat') expectExited(err, 15);
              else expectAborted(err);
              killed++;
            }
          });
        }
      } finally {
        victimsDone = true;
        await survivors;
      }
      expect(killed, 'workers were killed').to.be.greaterThan(0);
      expect(survivorRuns, 'the other workers went on').to.be.greaterThan(0);
      await drainAndAccount(h, pool, books);
    },
  );

  it(`workers killed while collections run leave exact accounting (seed ${SEED})`, async () => {
    const rand = seeded(SEED ^ 0xd);
    const h = (heap = await Heap.create({ hostModule: countingHostModule }));
    const pool = h.createPool({ filename: killTasksFile, minThreads: 2, maxThreads: 2 });
    const books = await openBooks(h, 10, 6);

    let stop = false;
    let collections = 0;
    const collector = (async () => {
      while (!stop) {
        await h.gc();
        collections++;
        await new Promise((r) => setTimeout(r, 1));
      }
    })();

    const tally = { resolved: 0, killed: 0 };
    const STEPS = 400;
    const round = (n: number): Promise<void> =>
      h.store.scope(async () => {
        const flag = newFlag();
        const ac = new AbortController();
        const exitAt = rand() < 0.35 ? Math.floor(rand() * STEPS) : -1;
        const signalAt = exitAt < 0 && rand() < 0.6 ? Math.floor(rand() * STEPS) : -1;
        const picks = pick(rand, books.held, 1 + Math.floor(rand() * 4));
        const task = pool.runTask({
          task: 'churn',
          args: [picks, SEED + n, STEPS, 1000 * (n + 1), exitAt, signalAt, flag],
          signal: ac.signal,
        });
        if (signalAt >= 0 && (await reached(flag, 0, task))) {
          // Kill the worker with a collection in flight.
          const collecting = h.gc();
          ac.abort();
          await collecting;
        }
        try {
          const out = (await task) as Rooted[];
          tally.resolved++;
          for (const r of out) if (rand() < 0.3) books.held.push(r.toManuallyRooted());
        } catch (err) {
          if (exitAt >= 0) expectExited(err, 16);
          else expectAborted(err);
          tally.killed++;
        }
      });

    const rounds = 10;
    try {
      await Promise.all(
        [0, 1].map(async (lane) => {
          for (let n = lane; n < rounds; n += 2) await round(n);
        }),
      );
    } finally {
      stop = true;
      await collector;
    }
    expect(tally.resolved + tally.killed).to.equal(rounds);
    expect(tally.killed, 'workers were killed').to.be.greaterThan(0);
    expect(collections, 'collections ran during the storm').to.be.greaterThan(0);
    await drainAndAccount(h, pool, books);
  });
});
