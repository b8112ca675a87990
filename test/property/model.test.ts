/**
 * Model-checked operations: seeded random sequences of new, newWith, clone, unroot, scopes,
 * toRaw/fromRaw, intoRaw/fromOwnedRaw, dataMut, gc and (with a pool) transfers to a worker and
 * back, worker-kept roots, dataMut and Wasm in the worker, and worker kills, each checked after
 * every step against the reference model in ./model.ts.
 *
 * Reproduce a failure with the seed and path fast-check prints: SHAREDREF_SEED=<seed>
 * PROPERTY_PATH=<path>. PROPERTY_SCALE multiplies the number of sequences (test:stress sets it).
 */
import fc from 'fast-check';
import { ExternRef, Heap } from '../../src';
import { hostModule } from '../helpers';
import { join } from 'node:path';
import { expect } from 'chai';
import { type Bench, type Op, opCounts, runSequence } from './model';

const SEED = Number(process.env.SHAREDREF_SEED ?? 0x5eed);
const PATH = process.env.PROPERTY_PATH;
const DEBUG = process.env.SHAREDREF_DEBUG === '1';
const SCALE = Number(process.env.PROPERTY_SCALE ?? 1);
const runs = (n: number): number => Math.max(1, Math.round((DEBUG ? n / 10 : n) * SCALE));

const idx = fc.nat(63);
const store = fc.nat(1);
/** Operations on this thread's two stores. */
const localOps: fc.Arbitrary<Op>[] = [
  fc.record({
    t: fc.constant('new' as const),
    s: store,
    kind: fc.constantFrom('plain' as const, 'text' as const, 'tracked' as const),
    manual: fc.boolean(),
  }),
  fc.record({ t: fc.constant('clone' as const), r: idx }),
  fc.record({ t: fc.constant('toRooted' as const), r: idx }),
  fc.record({ t: fc.constant('unroot' as const), r: idx }),
  fc.record({ t: fc.constant('misuse' as const), r: idx }),
  fc.record({ t: fc.constant('enter' as const), s: store }),
  fc.record({ t: fc.constant('exit' as const), s: store }),
  fc.record({ t: fc.constant('fromRaw' as const), r: idx, s: store }),
  fc.record({ t: fc.constant('intoRaw' as const), r: idx }),
  fc.record({ t: fc.constant('fromOwnedRaw' as const), r: idx }),
  fc.record({ t: fc.constant('dataMut' as const), r: idx, d: fc.integer({ min: -3, max: 3 }) }),
];
const gcOp: fc.Arbitrary<Op> = fc.constant({ t: 'gc' as const });
/** Operations that involve the pool's one worker. */
const poolOps: fc.Arbitrary<Op>[] = [
  fc.record({ t: fc.constant('echo' as const), r: idx }),
  fc.record({ t: fc.constant('keep' as const), r: idx, n: fc.integer({ min: 1, max: 3 }) }),
  fc.constant({ t: 'dropKept' as const }),
  fc.record({ t: fc.constant('bump' as const), r: idx, d: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ t: fc.constant('concat' as const), r: idx, q: idx }),
];
const killOp: fc.Arbitrary<Op> = fc.constant({ t: 'kill' as const });

/** Every operation at `weight`, except `new` at three times that, so sequences have objects to work on. */
const weighted = (xs: fc.Arbitrary<Op>[], weight: number): { arbitrary: fc.Arbitrary<Op>; weight: number }[] =>
  xs.map((arbitrary, i) => ({ arbitrary, weight: xs === localOps && i === 0 ? weight * 3 : weight }));
/** Sequences of up to `max` operations, lengths spread over the whole range. */
const sequences = (op: fc.Arbitrary<Op>, max: number): fc.Arbitrary<Op[]> =>
  fc.array(op, { minLength: 2, maxLength: max, size: 'max' });

describe('model-checked operations (fast-check)', function () {
  this.timeout(300_000);
  let heap: Heap;
  let bench: Bench;

  before(async () => {
    heap = await Heap.create({ hostModule, capacity: 16_384 });
    const log = heap.store.scope(() => ExternRef.newWithSync(heap.store, 'disposalLog').toManuallyRooted());
    bench = { heap, stores: [heap.store, heap.createStore()], log, pool: null };
  });
  after(async () => {
    await heap?.close();
  });

  /** Runs the property, then checks that every kind of operation in `kinds` really ran (not only as a no-op). */
  const check = async (
    ops: fc.Arbitrary<Op[]>,
    numRuns: number,
    b: () => Bench,
    kinds: readonly Op['t'][],
  ): Promise<void> => {
    opCounts.clear();
    await fc.assert(
      fc.asyncProperty(ops, (seq) => runSequence(b(), seq)),
      { numRuns, seed: SEED, ...(PATH !== undefined ? { path: PATH } : {}) },
    );
    if (PATH !== undefined) return; // a replay runs one sequence
    const missing = kinds.filter((k) => (opCounts.get(k) ?? 0) === 0);
    expect(missing, `operations that never ran: ${JSON.stringify(Object.fromEntries(opCounts))}`).to.deep.equal([]);
  };
  const LOCAL: Op['t'][] = [
    'new',
    'clone',
    'toRooted',
    'unroot',
    'misuse',
    'enter',
    'exit',
    'fromRaw',
    'intoRaw',
    'fromOwnedRaw',
    'dataMut',
    'gc',
  ];
  const POOLED: Op['t'][] = [...LOCAL, 'echo', 'keep', 'dropKept', 'bump', 'concat'];

  it(`${runs(10_000)} sequences on two stores of one thread (seed ${SEED})`, async () => {
    const op = fc.oneof(...weighted(localOps, 10), { arbitrary: gcOp, weight: 4 });
    await check(sequences(op, 24), runs(10_000), () => bench, LOCAL);
  });

  describe('with a pool worker', () => {
    let pooled: Bench;
    before(() => {
      const pool = heap.createPool({
        filename: join(__dirname, '..', 'fixtures', 'model-tasks.ts'),
        minThreads: 1,
        maxThreads: 1,
      });
      pooled = { ...bench, pool };
    });
    after(async () => {
      await pooled.pool?.close();
    });

    it(
      `${runs(1000)} sequences with transfers, worker-kept roots, dataMut and Wasm in the worker (seed ` + `${SEED})`,
      async () => {
        const op = fc.oneof(...weighted(localOps, 5), ...weighted(poolOps, 5), { arbitrary: gcOp, weight: 3 });
        await check(sequences(op, 24), runs(1000), () => pooled, POOLED);
      },
    );

    const killRuns = Math.max(20, runs(40));
    it(`${killRuns} sequences with worker kills (seed ${SEED})`, async () => {
      const op = fc.oneof(
        ...weighted(localOps, 5),
        ...weighted(poolOps, 5),
        { arbitrary: gcOp, weight: 3 },
        { arbitrary: killOp, weight: 5 },
      );
      await check(sequences(op, 16), killRuns, () => pooled, ['new', 'keep', 'kill']);
    });
  });
});
