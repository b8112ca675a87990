/**
 * The thread's module cache (src/wasm/module-cache.ts) behind `Module.fromText` and
 * `Module.fromBinary`: bounded by count and bytes, least recently used out first, and a binary
 * hit compared in full. The tests set small limits and put the defaults back after each.
 */
import { expect } from 'chai';
import { Module } from '../../src';
import { binaryKey, defaultModuleCacheLimits, LruCache } from '../../src/wasm/module-cache';
import { seeded } from '../fixtures/prng';

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a small non-negative number (below 2^20). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if (n === 0 && (b & 0x40) === 0) return [...out, b];
    out.push(b | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/**
 * A module exporting `f` that returns `k`, with a custom section "pad" of `pad` bytes (V8 ignores
 * its content, so it sets the binary's size, and its bytes tell two binaries apart).
 */
function binary(k: number, pad: Uint8Array | number = 0): Uint8Array {
  const payload = typeof pad === 'number' ? new Uint8Array(pad) : pad;
  const body = [0x00, 0x41, ...sleb(k), 0x0b]; // no locals; i32.const k; end
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [0x01, 0x60, 0x00, 0x01, 0x7f]), // type: () -> i32
    ...section(3, [0x01, 0x00]), // function 0 has type 0
    ...section(7, [0x01, 0x01, 0x66, 0x00, 0x00]), // export "f" = function 0
    ...section(10, [0x01, ...uleb(body.length), ...body]),
    ...section(0, [0x03, 0x70, 0x61, 0x64, ...payload]), // custom "pad"
  ]);
}

/** The text of a module exporting `f` that returns `k`. */
const text = (k: number): string => `(module (func (export "f") (result i32) i32.const ${k}))`;

/** Calls the module's `f`. */
function run(mod: Module): number {
  return (new WebAssembly.Instance(mod.wasm).exports.f as () => number)();
}

describe('module cache', () => {
  beforeEach(() => {
    Module.cacheLimits({ modules: 0 }); // empty: what other tests cached does not count here
    Module.cacheLimits(defaultModuleCacheLimits);
  });

  afterEach(() => {
    Module.cacheLimits(defaultModuleCacheLimits);
  });

  it('Module.cacheLimits returns the limits in force; omitted limits keep their value', () => {
    expect(Module.cacheLimits()).to.deep.equal({ modules: 256, bytes: 64 * 1024 * 1024 });
    expect(Module.cacheLimits({ modules: 8 })).to.deep.equal({ modules: 8, bytes: 64 * 1024 * 1024 });
    expect(Module.cacheLimits({ bytes: 4096 })).to.deep.equal({ modules: 8, bytes: 4096 });
    expect(Module.cacheLimits()).to.deep.equal({ modules: 8, bytes: 4096 });
  });

  it('Module.cacheLimits refuses bad limits, naming the limit and the value received, and changes nothing', () => {
    const bad: [unknown, ErrorConstructor, string][] = [
      [42, TypeError, 'options must be an object, received 42'],
      [null, TypeError, 'options must be an object, received null'],
      [{ modules: 1.5 }, TypeError, 'options.modules must be an integer, received 1.5'],
      [{ modules: -1 }, RangeError, 'options.modules must be between 0 and 2147483647, received -1'],
      [{ bytes: '1M' }, TypeError, 'options.bytes must be an integer, received "1M"'],
      [{ bytes: 2 ** 53 }, RangeError, `options.bytes must be between 0 and ${2 ** 53 - 1}, received ${2 ** 53}`],
      [{ modules: 4, size: 10 }, TypeError, 'options.size is not a module cache limit (known: modules, bytes)'],
    ];
    for (const [limits, type, message] of bad) {
      expect(() => Module.cacheLimits(limits as never), message).to.throw(type, message);
    }
    expect(Module.cacheLimits()).to.deep.equal(defaultModuleCacheLimits);
  });

  it('fromBinary past the module limit keeps at most that many, least recently used out first', () => {
    Module.cacheLimits({ modules: 4 });
    const bins = Array.from({ length: 12 }, (_, k) => binary(k));
    const first = bins.slice(0, 10).map((b) => {
      const mod = Module.fromBinary(b);
      expect(Module.cacheStats().modules).to.be.at.most(4);
      return mod;
    });
    expect(Module.cacheStats().modules).to.equal(4);
    // Kept: 6, 7, 8, 9. Using 6 makes 7 the least recently used, so 10 evicts 7.
    expect(Module.fromBinary(bins[6]!)).to.equal(first[6]);
    Module.fromBinary(bins[10]!);
    expect(Module.fromBinary(bins[6]!)).to.equal(first[6]);
    expect(Module.fromBinary(bins[8]!)).to.equal(first[8]);
    const again = Module.fromBinary(bins[7]!);
    expect(again).to.not.equal(first[7]);
    expect(run(again)).to.equal(7);
    expect(Module.cacheStats().modules).to.equal(4);
  });

  it('fromBinary past the byte limit keeps the bytes within it', () => {
    const size = binary(0, 1000).length;
    const limit = 3 * size + Math.floor(size / 2);
    Module.cacheLimits({ modules: 1000, bytes: limit });
    for (let k = 0; k < 10; k++) {
      Module.fromBinary(binary(k, 1000));
      const s = Module.cacheStats();
      expect(s.bytes, `after ${k + 1} modules`).to.be.at.most(limit);
      expect(s.modules).to.equal(Math.min(k + 1, 3));
    }
  });

  it('fromText past the limit keeps at most that many, and an evicted module is compiled again and works', () => {
    Module.cacheLimits({ modules: 2 });
    const m0 = Module.fromText(text(0));
    expect(Module.fromText(text(0))).to.equal(m0); // a hit
    for (let k = 1; k <= 4; k++) {
      expect(run(Module.fromText(text(k)))).to.equal(k);
      expect(Module.cacheStats().modules).to.be.at.most(2);
    }
    const evictions = Module.cacheStats().evictions;
    const m0again = Module.fromText(text(0));
    expect(m0again).to.not.equal(m0);
    expect(m0again.bytes).to.deep.equal(m0.bytes);
    expect(run(m0again)).to.equal(0);
    expect(run(m0)).to.equal(0); // a module handed out before its eviction stays valid
    expect(Module.cacheStats().evictions).to.equal(evictions + 1);
  });

  it('a module bigger than the byte limit is compiled but not kept; lowering a limit evicts at once', () => {
    Module.cacheLimits({ bytes: 4096 });
    const big = binary(1, 8192);
    const a = Module.fromBinary(big);
    expect(Module.fromBinary(big)).to.not.equal(a);
    expect(run(a)).to.equal(1);
    const small = Array.from({ length: 3 }, (_, k) => Module.fromBinary(binary(k)));
    expect(Module.cacheStats().modules).to.be.at.least(3);
    Module.cacheLimits({ modules: 1 });
    expect(Module.cacheStats().modules).to.equal(1);
    expect(Module.fromBinary(binary(2))).to.equal(small[2]);
    Module.cacheLimits({ modules: 0 });
    expect(Module.cacheStats()).to.include({ modules: 0, bytes: 0 });
    expect(Module.fromBinary(binary(2))).to.not.equal(small[2]);
  });

  it('a binary hit compares the bytes in full: two binaries with the same key get their own modules', () => {
    // Birthday search for two same-length binaries whose keys (length + 32-bit hash) collide:
    // about 80 000 tries, a few milliseconds.
    const rand = seeded(0xfeed);
    const seen = new Map<bigint, Uint8Array>();
    let pair: [Uint8Array, Uint8Array] | null = null;
    for (let i = 0; pair === null && i < 2_000_000; i++) {
      const b = binary(
        5,
        Uint8Array.from({ length: 8 }, () => Math.floor(rand() * 256)),
      );
      const key = binaryKey(b);
      const other = seen.get(key);
      if (other !== undefined && other.some((x, j) => x !== b[j])) pair = [other, b];
      else seen.set(key, b);
    }
    expect(pair, 'two binaries with one key').to.not.equal(null);
    const [a, b] = pair!;
    expect(binaryKey(a)).to.equal(binaryKey(b));
    const ma = Module.fromBinary(a);
    const mb = Module.fromBinary(b);
    expect(mb).to.not.equal(ma);
    expect(mb.bytes).to.deep.equal(b);
    const pad = (m: Module): Uint8Array => new Uint8Array(WebAssembly.Module.customSections(m.wasm, 'pad')[0]!);
    expect(pad(mb)).to.deep.equal(b.slice(-8));
    expect(pad(ma)).to.deep.equal(a.slice(-8));
    expect(Module.fromBinary(b)).to.equal(mb);
  });

  it('LruCache counts hits, misses and evictions and never holds more than its limits', () => {
    const c = new LruCache<string>({ modules: 2, bytes: 10 });
    c.set('a', 'A', 4);
    c.set('b', 'B', 4);
    expect(c.get('a')).to.equal('A'); // a is now the most recent
    c.set('c', 'C', 4); // 12 bytes: b goes
    expect([c.get('b'), c.get('a'), c.get('c')]).to.deep.equal([undefined, 'A', 'C']);
    c.set('a', 'A2', 2); // replaced, not evicted
    expect(c.get('a', (v) => v === 'A')).to.equal(undefined); // rejected by the full comparison: a miss
    expect(c.stats()).to.deep.equal({ modules: 2, bytes: 6, hits: 3, misses: 2, evictions: 1 });
  });
});
