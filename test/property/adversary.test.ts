/**
 * Adversarial model-checked sequences (./adversary.ts): pending asynchronous work interleaved with
 * mutations, collections, store closes, worker kills and heap closes; slow and never-settling
 * host code; hostile data through the pool; inherited names; malformed raw handles.
 *
 * Three properties, sized for the suite's budget:
 * - many short sequences on one shared heap with a pool worker (no hanging host code);
 * - sequences with slow and never-settling factories, methods and disposers, on a heap whose
 *   `userCodeTimeoutMs` is short, so that every wait on user code is bounded;
 * - sequences on a fresh heap each, with worker kills and `heap.close()` at random points.
 *
 * Reproduce a failure with the seed and path fast-check prints: SHAREDREF_SEED=<seed>
 * PROPERTY_PATH=<path>. PROPERTY_SCALE multiplies the number of sequences (test:stress sets it).
 * The seeds that first found the defects these sequences cover are replayed first (REGRESSIONS).
 */
import fc from 'fast-check';
import { expect } from 'chai';
import { join } from 'node:path';
import { REGRESSIONS } from './adversary-regressions';
import { ExternRef, Heap, type HeapOptions } from '../../src';
import {
  type AdvBench,
  type AdvOp,
  BAD_FORMS,
  CLASS_NAMES,
  HOSTILE_SHAPES,
  PROTO_NAMES,
  RAW_ENTRIES,
  advCounts,
  runAdversary,
} from './adversary';

const SEED = Number(process.env.SHAREDREF_SEED ?? 0xadbe);
const PATH = process.env.PROPERTY_PATH;
const DEBUG = process.env.SHAREDREF_DEBUG === '1';
const SCALE = Number(process.env.PROPERTY_SCALE ?? 1);
const runs = (n: number): number => Math.max(1, Math.round((DEBUG ? n / 10 : n) * SCALE));

const hostModule = join(__dirname, '..', 'fixtures', 'adversary-host.ts');
const tasksFile = join(__dirname, '..', 'fixtures', 'adversary-tasks.ts');
const LOG_WORDS = 1 << 20;

const i = fc.nat(63);
const s = fc.nat(3);
const delay = fc.constantFrom(0, 0, 1, 2);
const disposal = fc.constantFrom('sync' as const, 'async' as const, 'throws' as const);

/** Operations that never hang: the shared-heap property. */
const fastOps: { arbitrary: fc.Arbitrary<AdvOp>; weight: number }[] = [
  { weight: 6, arbitrary: fc.record({ t: fc.constant('newList' as const), s }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('newChameleon' as const), s }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('newWith' as const),
      s,
      sync: fc.boolean(),
      delay,
      disposal,
      name: fc.nat(CLASS_NAMES.length),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('clone' as const), r: i, s }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('unroot' as const), r: i }) },
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('mutate' as const),
      r: i,
      how: fc.constantFrom(
        'dataMut' as const,
        'dataMutSync' as const,
        'call' as const,
        'callSync' as const,
        'worker' as const,
      ),
      delay: fc.constantFrom(0, 0, 1),
      wait: fc.boolean(),
      keepResult: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constant('read' as const), r: i, sync: fc.boolean(), wait: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('retype' as const),
      r: i,
      to: fc.constantFrom('number' as const, 'Map' as const, 'string' as const, 'Set' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('nested' as const),
      r: i,
      inner: fc.constantFrom('dataMutSync' as const, 'callSync' as const),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('hostCall' as const),
      r: i,
      method: fc.constantFrom(
        'get' as const,
        'slow' as const,
        'returnsFunction' as const,
        'returnsSymbol' as const,
        'badArg' as const,
      ),
      wait: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('protoName' as const),
      which: fc.constantFrom(
        'factory' as const,
        'factorySync' as const,
        'method' as const,
        'listMethod' as const,
        'task' as const,
      ),
      name: fc.nat(PROTO_NAMES.length * 8),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('badRaw' as const),
      r: i,
      form: fc.nat(BAD_FORMS.length - 1),
      entry: fc.nat(RAW_ENTRIES.length - 1),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('i32Raw' as const), r: i }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('hostile' as const), shape: fc.nat(HOSTILE_SHAPES - 1), seed: fc.nat() }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'storeNew' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('storeClose' as const), s }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('settle' as const), p: i }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('gc' as const), sync: fc.boolean() }) },
];

/** Host code that is slow or never settles. */
const slowOps: { arbitrary: fc.Arbitrary<AdvOp>; weight: number }[] = [
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('newWith' as const),
      s,
      sync: fc.constant(false),
      delay: fc.constantFrom(-1, 5, 30),
      disposal: fc.constantFrom('sync' as const, 'async' as const, 'asyncHang' as const, 'throws' as const),
      name: fc.nat(CLASS_NAMES.length),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('hostCall' as const),
      r: i,
      method: fc.constantFrom('slow' as const, 'hang' as const),
      wait: fc.boolean(),
    }),
  },
];

const killOp = { weight: 2, arbitrary: fc.constant({ t: 'kill' as const }) };
const closeOp = { weight: 1, arbitrary: fc.constant({ t: 'heapClose' as const }) };

/** Operation kinds left out (ADV_EXCLUDE=kill,hostile), to look for one class of fault at a time. */
const EXCLUDE = new Set((process.env.ADV_EXCLUDE ?? '').split(',').filter((x) => x !== ''));
const kindOf = (o: { arbitrary: fc.Arbitrary<AdvOp> }): AdvOp['t'] => fc.sample(o.arbitrary, 1)[0]!.t;

const sequences = (ops: { arbitrary: fc.Arbitrary<AdvOp>; weight: number }[], max: number): fc.Arbitrary<AdvOp[]> =>
  fc.array(fc.oneof(...ops.filter((o) => !EXCLUDE.has(kindOf(o)))), { minLength: 2, maxLength: max, size: 'max' });

/** Heap options, with the bound on user code where this build has it. */
function heapOptions(userCodeTimeoutMs: number): HeapOptions {
  return { hostModule, capacity: 4096, leaseTimeoutMs: 2000, userCodeTimeoutMs } as HeapOptions;
}

async function openBench(userCodeTimeoutMs: number, withPool: boolean): Promise<AdvBench> {
  const heap = await Heap.create(heapOptions(userCodeTimeoutMs));
  const sab = new SharedArrayBuffer(LOG_WORDS * 4);
  heap.store.scope(() => ExternRef.newWithSync(heap.store, 'logTo', sab));
  await heap.gc(); // the scope above dropped logTo's value: every sequence starts from the same live count
  const pool = withPool ? heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 }) : null;
  return { heap, pool, log: new Int32Array(sab), settleBoundMs: 3000 + 4 * userCodeTimeoutMs, userCodeTimeoutMs };
}

describe('adversarial model-checked sequences (fast-check)', function () {
  this.timeout(600_000);

  const check = async (
    ops: fc.Arbitrary<AdvOp[]>,
    numRuns: number,
    run: (seq: AdvOp[]) => Promise<void>,
    kinds: readonly AdvOp['t'][],
  ): Promise<void> => {
    advCounts.clear();
    await fc.assert(fc.asyncProperty(ops, run), { numRuns, seed: SEED, ...(PATH !== undefined ? { path: PATH } : {}) });
    if (PATH !== undefined) return;
    const missing = kinds.filter((k) => !EXCLUDE.has(k) && (advCounts.get(k) ?? 0) === 0);
    expect(missing, `operations that never ran: ${JSON.stringify(Object.fromEntries(advCounts))}`).to.deep.equal([]);
  };

  describe('on one shared heap with a pool worker', () => {
    let bench: AdvBench;
    before(async () => {
      bench = await openBench(2000, true);
    });
    after(async () => {
      await bench?.heap.close();
    });

    it('replays the kept counterexamples of the shared heap', async () => {
      for (const r of REGRESSIONS.filter((x) => x.property === 'shared')) {
        await runAdversary(bench, r.ops, false).catch((err: unknown) => {
          throw new Error(`regression "${r.found}"`, { cause: err });
        });
      }
    });

    const title = 'sequences of pending work, hostile data, inherited names and malformed handles';
    it(`${runs(10_000)} ${title} (seed ${SEED})`, async () => {
      const kinds = fastOps.map(kindOf);
      await check(sequences(fastOps, 16), runs(10_000), (seq) => runAdversary(bench, seq, false), kinds);
    });
  });

  describe('with slow and never-settling host code', () => {
    let bench: AdvBench;
    before(async () => {
      bench = await openBench(100, false);
    });
    after(async () => {
      await bench?.heap.close();
    });

    it('replays the kept counterexamples of slow host code', async () => {
      for (const r of REGRESSIONS.filter((x) => x.property === 'slow')) {
        await runAdversary(bench, r.ops, false).catch((err: unknown) => {
          throw new Error(`regression "${r.found}"`, { cause: err });
        });
      }
    });

    const slowRuns = Math.max(100, runs(300));
    it(`${slowRuns} sequences whose factories, methods and disposers are slow or hang (seed ${SEED})`, async () => {
      const ops = [...fastOps.filter((o) => !['hostile', 'protoName'].includes(kindOf(o))), ...slowOps];
      await check(sequences(ops, 12), slowRuns, (seq) => runAdversary(bench, seq, false), [
        'newWith',
        'hostCall',
        'gc',
        'settle',
      ]);
    });
  });

  describe('on a fresh heap each, with worker kills and heap.close()', () => {
    it(`${Math.max(10, runs(24))} sequences (seed ${SEED})`, async () => {
      const ops = [...fastOps, ...slowOps, killOp, closeOp];
      await check(
        sequences(ops, 14),
        Math.max(10, runs(24)),
        async (seq) => {
          const bench = await openBench(150, true);
          try {
            await runAdversary(bench, [...seq, { t: 'heapClose' }], true);
          } finally {
            await bench.heap.close();
          }
        },
        ['heapClose', 'kill'],
      );
    });
  });
});
