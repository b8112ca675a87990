import { expect } from 'chai';
import { MISS, ValueCache } from '../../src/store/value-cache';

/** A handle for slot `index` at generation `gen` (16 index bits, as in the default heap). */
const h = (index: number, gen = 1): number => ((gen << 16) | index) >>> 0;

describe('value cache', () => {
  it('answers only for the exact handle and version it holds (I1)', () => {
    const c = new ValueCache(8);
    c.set(h(3), 3, 'three', 0);
    expect(c.get(h(3), 3, 0)).to.equal('three');
    expect(c.get(h(3), 3, 1), 'a newer version').to.equal(MISS);
    expect(c.get(h(3, 2), 3, 0), 'the slot’s next object').to.equal(MISS);
    expect(c.get(h(7), 7, 0), 'another slot of the same set').to.equal(MISS);
  });

  it('caches undefined as a value, distinct from a miss', () => {
    const c = new ValueCache(4);
    c.set(h(1), 1, undefined, 0);
    expect(c.get(h(1), 1, 0)).to.equal(undefined);
  });

  it('a value read between insertions keeps its place while new values stream through its set', () => {
    const c = new ValueCache(8); // 4 sets of 2 ways
    c.set(h(0), 0, 'hot', 0);
    for (let i = 1; i <= 100; i++) {
      c.set(h(4 * i), 4 * i, i, 0); // every one of them lands in set 0
      expect(c.get(h(0), 0, 0), `after ${i} insertions`).to.equal('hot');
    }
    expect(c.get(h(400), 400, 0), 'the newest insertion').to.equal(100);
    expect(c.get(h(396), 396, 0), 'the one before it was replaced').to.equal(MISS);
  });

  it('setting a handle again updates its own way', () => {
    const c = new ValueCache(2);
    c.set(h(0), 0, 'a', 0);
    c.set(h(2), 2, 'b', 0);
    c.set(h(0), 0, 'a2', 1);
    expect([c.get(h(0), 0, 1), c.get(h(2), 2, 0)]).to.deep.equal(['a2', 'b']);
  });

  it('size 0 caches nothing, and clear forgets everything', () => {
    const off = new ValueCache(0);
    off.set(h(1), 1, 'x', 0);
    expect(off.get(h(1), 1, 0)).to.equal(MISS);
    const c = new ValueCache(4);
    c.set(h(1), 1, 'x', 0);
    c.clear();
    expect(c.get(h(1), 1, 0)).to.equal(MISS);
  });
});
