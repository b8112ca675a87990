import { expect } from 'chai';
import {
  encodeHandle,
  handleCodec,
  handleGeneration,
  handleIndex,
  nextGeneration,
  NOT_A_HANDLE,
  rawHandle,
} from '../../src/shared/handle';

describe('handle codec', () => {
  it('splits index and generation by capacity, leaving the rest to generations unless narrowed', () => {
    expect(handleCodec(65536)).to.deep.equal({
      indexBits: 16,
      indexMask: 0xffff,
      generationBits: 16,
      maxGeneration: 0xffff,
    });
    expect(handleCodec(1000).indexBits).to.equal(10);
    expect(handleCodec(2).maxGeneration).to.equal(2 ** 31 - 1);
    expect(handleCodec(64, 3)).to.deep.equal({ indexBits: 6, indexMask: 63, generationBits: 3, maxGeneration: 7 });
  });

  it('round-trips index and generation, and never encodes a live handle as 0', () => {
    for (const c of [handleCodec(4096), handleCodec(4096, 2), handleCodec(2)]) {
      for (const [i, g] of [
        [0, 1],
        [1, c.maxGeneration],
        [1, 1],
        [0, c.maxGeneration],
      ] as const) {
        const h = encodeHandle(c, i, g);
        expect(h).to.be.greaterThan(0);
        expect(h >>> 0).to.equal(h);
        expect(handleIndex(c, h)).to.equal(i);
        expect(handleGeneration(c, h)).to.equal(g);
      }
    }
  });

  it('wraps generations from the largest back to 1, never to 0', () => {
    const c = handleCodec(64, 3);
    const seen: number[] = [];
    for (let g = 1, k = 0; k < 10; k++, g = nextGeneration(c, g)) seen.push(g);
    expect(seen).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 1, 2, 3]);
  });

  it('refuses a generation field narrower than 2 bits or wider than the bits above the index', () => {
    expect(() => handleCodec(64, 1)).to.throw(RangeError, /2 to 26 generation bits, received 1/);
    expect(() => handleCodec(64, 27)).to.throw(RangeError, /received 27/);
    expect(() => handleCodec(64, 2.5)).to.throw(RangeError);
  });

  it('takes a raw handle as a u32 or the i32 with the same bits, and refuses anything else', () => {
    expect([rawHandle(0), rawHandle(5), rawHandle(0xffff_ffff), rawHandle(-1), rawHandle(-(2 ** 31))]).to.deep.equal([
      0,
      5,
      0xffff_ffff,
      0xffff_ffff,
      2 ** 31,
    ]);
    for (const bad of [2 ** 32, 2 ** 32 + 5, 0.5, -0.5, NaN, Infinity, -(2 ** 31) - 1, '5', 5n, null, {}]) {
      expect(rawHandle(bad), String(bad)).to.equal(NOT_A_HANDLE);
    }
  });
});
