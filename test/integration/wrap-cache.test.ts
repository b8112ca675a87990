/**
 * Regression (found by the server soak): once generations wrap, a handle names a new object of
 * the same slot, and a store's read cache, keyed by handle and version, answered for it with the
 * value of the earlier object it had cached under the same handle, because every object of a
 * slot began at version 0. Versions now keep counting across the objects of a slot.
 */
import { expect } from 'chai';
import { ExternRef, Heap } from '../../src';
import { seeded } from '../helpers';

const SEED = Number(process.env.SHAREDREF_SEED ?? 0x3a7c);

describe('read caches across generation wraps', () => {
  let heap: Heap | null = null;
  afterEach(async () => {
    await heap?.close();
    heap = null;
  });

  it("a store's read cache never answers for an earlier object of the slot once its generation wraps", async () => {
    // 3 generations per slot and 64 slots: a handle comes back after 192 objects.
    heap = await Heap.create({ capacity: 64, generationBits: 2, batchSize: 4 });
    const reader = heap.store;
    const maker = heap.createStore();
    const rand = seeded(SEED);
    /** Per handle: the value the reader last read under it. */
    const readUnder = new Map<number, string>();
    let reads = 0;
    let repeats = 0;
    const wrong: string[] = [];
    for (let round = 0; round < 600; round++) {
      const m = ExternRef.newManuallyRooted(maker, `v${round}`);
      const h = m.toRaw(); // posts the value
      let value = `v${round}`;
      // Commits move the version on; the earlier objects of the slot had theirs too.
      for (let c = Math.floor(rand() * 3); c > 0; c--) value = m.dataMutSync((v: string) => v + '+') as string;
      // The reader skips most objects, so that its cache keeps an earlier object's entry until
      // the handle comes back.
      if (rand() < 0.3) {
        const got = reader.scope(() => ExternRef.fromRaw(reader, h)!.dataSync());
        reads++;
        if (readUnder.has(h)) repeats++;
        if (got !== value && wrong.length < 5)
          wrong.push(
            `handle 0x${h.toString(16)}: read ${String(got)}, expected ${value} (earlier ${readUnder.get(h)})`,
          );
        readUnder.set(h, value);
      }
      m.unroot();
      if (round % 8 === 7) await heap.gc();
    }
    expect(heap.stats().wraps, 'generations wrapped').to.be.above(64);
    expect(repeats, 'the reader read a handle again after its slot wrapped').to.be.above(20);
    expect(wrong, `${wrong.length} wrong reads of ${reads}`).to.deep.equal([]);
  });
});
