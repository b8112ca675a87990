/**
 * A seeded storm: references move between the main thread and workers while workers are killed
 * at random points (aborted mid-task, or exiting mid-task) and collections run. After the pool
 * drains, the accounting must be exact: no count but the main thread's, every value disposed
 * exactly once. Set SHAREDREF_SEED to replay a run; STORM_TASKS to make it longer.
 */
import { expect } from 'chai';
import { ExternRef, Heap, type ManuallyRooted, type Rooted } from '../../src';
import { hostModule, seeded, tasksFile, waitFor } from '../helpers';

const SEED = Number(process.env.SHAREDREF_SEED ?? 0x5eed1);
const TASKS = Number(process.env.STORM_TASKS ?? 120);

describe('kill storm', () => {
  let heap: Heap;
  afterEach(async () => {
    await heap?.close();
  });

  it(`workers killed at random points while references move leave exact accounting (seed ${SEED})`, async function () {
    this.timeout(120_000);
    const rand = seeded(SEED);
    heap = await Heap.create({ hostModule, leaseTimeoutMs: 2000 });
    const pool = heap.createPool({ filename: tasksFile, minThreads: 2, maxThreads: 2 });
    // Scoped, so the temporary Rooted of each newWith is released at once.
    const log = await heap.store.scope(async () =>
      (await ExternRef.newWith(heap.store, 'disposalLog')).toManuallyRooted(),
    );
    await log.call('clear');
    const held: ManuallyRooted[] = [];
    for (let i = 0; i < 30; i++) held.push(ExternRef.newManuallyRooted(heap.store, { i }));
    for (let i = 0; i < 15; i++)
      held.push(heap.store.scope(() => ExternRef.newWithSync(heap.store, 'tracked', i).toManuallyRooted()));

    let killed = 0;
    let exited = 0;
    let succeeded = 0;
    const runOne = async (n: number): Promise<void> => {
      const picks = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => held[Math.floor(rand() * held.length)]!);
      const exitAt = rand() < 0.15 ? Math.floor(rand() * 24) : -1;
      const ac = new AbortController();
      const abortAfter = rand() < 0.25 ? rand() * 4 : -1;
      const timer = abortAfter >= 0 ? setTimeout(() => ac.abort(), abortAfter) : null;
      try {
        await heap.store.scope(async () => {
          const out = (await pool.runTask({
            task: 'mix',
            args: [picks, SEED + n, exitAt],
            signal: ac.signal,
          })) as Rooted[];
          for (const r of out) if (rand() < 0.5) held.push(r.toManuallyRooted());
        });
        succeeded++;
      } catch (err) {
        if (ac.signal.aborted) killed++;
        else if (exitAt >= 0) exited++;
        else throw err;
      } finally {
        if (timer !== null) clearTimeout(timer);
      }
      if (n % 10 === 0) await heap.gc();
    };
    const lanes = 4;
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let n = lane; n < TASKS; n += lanes) await runOne(n);
      }),
    );
    expect(succeeded + killed + exited).to.equal(TASKS);
    expect(killed + exited, 'the storm killed some workers').to.be.greaterThan(0);

    // Drain: every worker goes away, and with it every count it held.
    await pool.close();
    await waitFor(() => heap.stats().stores === 1, 'every worker store to be released');

    // No count remains but the main thread's.
    const mine = new Map<number, number>();
    for (const m of held) mine.set(m.toRaw(), (mine.get(m.toRaw()) ?? 0) + 1);
    for (const m of held) expect(m.strongCount(), `count of 0x${m.toRaw().toString(16)}`).to.equal(mine.get(m.toRaw()));

    // Every value disposed exactly once.
    for (const m of held) m.unroot();
    await heap.gc();
    const entries = (await log.call('entries')) as number[];
    expect([...entries].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 15 }, (_, i) => i));
    log.unroot();
    await heap.gc();
    const s = heap.stats();
    expect(s.live).to.equal(0);
    expect(s.disposed).to.equal(s.created);
  });
});
