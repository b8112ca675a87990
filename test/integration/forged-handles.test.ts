/**
 * Forged handles (I1): a million random, bit-flipped and stale u32 values, through fromRaw and
 * through a Wasm import. A value may resolve only if it is exactly the handle of a live object,
 * and then only to that object; everything else is ERR_INVALID_HANDLE (a trap inside Wasm).
 * Set SHAREDREF_SEED to replay, FORGED_COUNT to change the count.
 */
import { expect } from 'chai';
import { ExternRef, Heap, Linker, Module, type Rooted } from '../../src';
import { seeded } from '../helpers';

const SEED = Number(process.env.SHAREDREF_SEED ?? 0xf0f0);
const COUNT = Number(process.env.FORGED_COUNT ?? 1_000_000);

const FORWARD_WAT = `
(module
  (import "host" "use" (func $use (param i32) (result i32)))
  (func (export "forward") (param i32) (result i32) (call $use (local.get 0))))`;

describe('forged handles', () => {
  let heap: Heap;
  afterEach(async () => {
    await heap?.close();
  });

  it(
    `${COUNT} random, bit-flipped and stale values resolve to no object but their own, through fromRaw and ` +
      `through Wasm (seed ${SEED})`,
    async function () {
      this.timeout(180_000);
      heap = await Heap.create({ capacity: 4096, cacheSize: 0 });
      const store = heap.store;
      const rand = seeded(SEED);
      // Live objects whose data is their own number, and stale handles of freed objects whose
      // slots were then reused (so a stale handle's slot now holds another object). 1500 + 3000
      // objects in 4096 slots: at least 404 of the stale slots hold live objects, whichever slots
      // the store's batches happen to hold.
      const stale = store.scope(() => Array.from({ length: 1500 }, (_, i) => ExternRef.new(store, -i).toRaw()));
      await heap.gc();
      const live = Array.from({ length: 3000 }, (_, i) => ExternRef.newManuallyRooted(store, i));
      const idOf = new Map(live.map((m, i) => [m.toRaw(), i] as const));
      const reused = stale.filter((h) => live.some((m) => (m.toRaw() & 0xfff) === (h & 0xfff))).length;
      expect(reused, 'some stale handles point at reused slots').to.be.greaterThan(100);

      const candidate = (): number => {
        const k = rand();
        if (k < 0.4) return Math.floor(rand() * 2 ** 32);
        const base =
          k < 0.7 ? live[Math.floor(rand() * live.length)]!.toRaw() : stale[Math.floor(rand() * stale.length)]!;
        if (k < 0.93) return (base ^ (1 << Math.floor(rand() * 32))) >>> 0; // one bit flipped
        return base; // exact: a live one must resolve to itself, a stale one must not resolve
      };

      const run = (label: string, resolve: (raw: number) => number | null): void => {
        let resolved = 0;
        let refused = 0;
        for (let done = 0; done < COUNT;) {
          store.scope(() => {
            for (let k = 0; k < 10_000 && done < COUNT; k++, done++) {
              const raw = candidate();
              let got: number | null;
              try {
                got = resolve(raw);
              } catch (err) {
                const code = (err as { code?: string }).code;
                const causeCode = (err as { cause?: { code?: string } }).cause?.code;
                if (code !== 'ERR_INVALID_HANDLE' && causeCode !== 'ERR_INVALID_HANDLE') throw err;
                expect(idOf.has(raw), `${label}: live handle 0x${raw.toString(16)} was refused`).to.equal(false);
                refused++;
                continue;
              }
              if (raw === 0) continue; // null
              expect(idOf.has(raw), `${label}: 0x${raw.toString(16)} resolved but names no live object`).to.equal(true);
              if (got !== null)
                expect(got, `${label}: 0x${raw.toString(16)} resolved to another object`).to.equal(idOf.get(raw));
              resolved++;
            }
          });
        }
        expect(resolved + refused).to.be.greaterThan(COUNT * 0.99);
        expect(resolved, `${label}: exact live handles resolve`).to.be.greaterThan(COUNT * 0.01);
      };

      // Through fromRaw: identity by handle, and for a sample the value read from the coordinator.
      let sample = 0;
      run('fromRaw', (raw) => {
        const r = ExternRef.fromRaw(store, raw);
        if (r === null || sample++ % 512 !== 0) return null;
        return r.dataSync() as number;
      });

      // Through a Wasm import (raw ABI): the host reads the object's number only on a sample.
      let calls = 0;
      const forward = new Linker(store)
        .funcWrap('host', 'use', { params: ['handle'], results: ['i32'] }, (_c, r: Rooted | null) =>
          calls++ % 512 === 0 ? (r!.dataSync() as number) : -1,
        )
        .instantiate(Module.fromText(FORWARD_WAT))
        .getTypedFunc('forward', { params: ['i32'], results: ['i32'] });
      run('wasm', (raw) => {
        const v = forward(raw | 0) as number;
        return v === -1 ? null : v;
      });

      for (const m of live) expect(m.strongCount()).to.equal(1); // nothing leaked a count
      for (const m of live) m.unroot();
    },
  );
});
