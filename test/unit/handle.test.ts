import { expect } from 'chai';
import { encodeHandle, handleCodec, handleGeneration, handleIndex } from '../../src/shared/handle';

describe('handle codec', () => {
  it('splits index and generation by capacity, leaving the rest to generations', () => {
    expect(handleCodec(65536)).to.deep.equal({ indexBits: 16, indexMask: 0xffff, maxGeneration: 0xffff });
    expect(handleCodec(1000).indexBits).to.equal(10);
    expect(handleCodec(2).maxGeneration).to.equal(2 ** 31 - 1);
  });

  it('round-trips index and generation, and never encodes a live handle as 0', () => {
    const c = handleCodec(4096);
    for (const [i, g] of [
      [0, 1],
      [4095, 1],
      [7, c.maxGeneration],
      [123, 456],
    ] as const) {
      const h = encodeHandle(c, i, g);
      expect(h).to.be.greaterThan(0);
      expect(h >>> 0).to.equal(h);
      expect(handleIndex(c, h)).to.equal(i);
      expect(handleGeneration(c, h)).to.equal(g);
    }
  });

  it('refuses capacities that would leave fewer than 8 generation bits', () => {
    expect(() => handleCodec(2 ** 25)).to.throw(RangeError);
  });
});
