import { expect } from 'chai';
import { KERNEL_WASM_BASE64, heapMemory, kernelWat } from '../../src/shared/kernel';
import * as L from '../../src/shared/layout';
import { encodeHandle } from '../../src/shared/handle';
import { NO_SLOT, SlotTable } from '../../src/shared/slot-table';
import { type LooseSlotTable, loose } from '../fixtures/loose-slots';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt') as () => Promise<{
  parseWat(
    name: string,
    text: string,
    features: object,
  ): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void };
}>;

/** A slot table over a fresh heap memory of `capacity` slots, header written as Heap.create does. */
function table(capacity: number): LooseSlotTable {
  const layout = L.computeLayout(capacity, 2, 16, 4);
  const memory = heapMemory(layout.totalWords);
  const i32 = new Int32Array(memory.buffer);
  for (let i = 0; i < capacity; i++) i32[L.slotBase(layout, i) + L.S_GEN] = 1;
  return loose(new SlotTable(memory, layout));
}

/** Makes slot `index` LIVE with one count recorded at word `entry`, as a store's `new` does. */
function publish(t: LooseSlotTable, index: number, entry: number): number {
  t.i32[t.word(index, L.S_STATE)] = L.SLOT_RESERVED;
  return t.publishBuilt(index, 7, entry, L.regionBase(t.layout, 1) + L.R_CREATED);
}

describe('count kernel', () => {
  it('the embedded binary is kernelWat() compiled (regenerate KERNEL_WASM_BASE64 after a layout change)', async () => {
    const wabt = await wabtInit();
    const mod = wabt.parseWat('kernel.wat', kernelWat(), { threads: true });
    const fresh = Buffer.from(mod.toBinary({}).buffer).toString('base64');
    mod.destroy();
    expect(KERNEL_WASM_BASE64, `the kernel binary is stale; its new base64 is:\n${fresh}\n`).to.equal(fresh);
  });

  it(
    'publish writes count 1, tag, the root entry, the ' + "creator's counter and LIVE state, and returns the handle",
    () => {
      const t = table(8);
      const entry = t.layout.regions + L.REGION_HEADER_WORDS;
      const h = publish(t, 3, entry);
      expect(h).to.equal(encodeHandle(t.codec, 3, 1));
      expect([t.count(3), t.tag(3), t.state(3), t.i32[entry]]).to.deep.equal([1, 7, L.SLOT_LIVE, h]);
      expect(t.i32[L.regionBase(t.layout, 1) + L.R_CREATED]).to.equal(1);
      publish(t, 4, entry + 1);
      expect(t.i32[L.regionBase(t.layout, 1) + L.R_CREATED]).to.equal(2);
      expect(t.check(h)).to.equal(3);
    },
  );

  it('fromRaw refuses a wrong generation, an index past capacity, 0 and a dying slot, and writes no entry then', () => {
    const t = table(6); // 3 index bits: indices 6 and 7 are past capacity
    const entry = t.layout.regions + L.REGION_HEADER_WORDS;
    const h = publish(t, 2, entry);
    const other = entry + 1;
    expect(t.tryCloneRaw(encodeHandle(t.codec, 2, 2), other)).to.equal(NO_SLOT);
    expect(t.tryCloneRaw(encodeHandle(t.codec, 7, 1), other)).to.equal(NO_SLOT);
    expect(t.check(encodeHandle(t.codec, 6, 1))).to.equal(NO_SLOT);
    expect(t.tryCloneRaw(0, other)).to.equal(NO_SLOT);
    expect(t.i32[other]).to.equal(0);
    expect(t.tryCloneRaw(h, other)).to.equal(2);
    expect([t.count(2), t.i32[other]]).to.deep.equal([2, h]);
    t.drop(2, other);
    t.drop(2, entry);
    expect(t.state(2)).to.equal(L.SLOT_DYING);
    expect(t.tryCloneRaw(h, other), 'count 0 is terminal (I2)').to.equal(NO_SLOT);
    expect(t.liveIndexOf(h)).to.equal(NO_SLOT);
    expect(t.i32[other]).to.equal(0);
  });

  it('the last drop clears the entry, marks the slot DYING and queues it once', () => {
    const t = table(8);
    const entry = t.layout.regions + L.REGION_HEADER_WORDS;
    const h = publish(t, 5, entry);
    t.cloneHeld(5, entry + 1, h);
    expect(t.drop(5, entry + 1)).to.equal(1);
    expect(t.pendingReleases()).to.equal(0);
    expect(t.drop(5, entry)).to.equal(0);
    expect(t.i32[entry]).to.equal(0);
    expect(t.pendingReleases()).to.equal(1);
    expect(t.popReleased()).to.equal(5);
    expect(t.popReleased()).to.equal(NO_SLOT);
  });

  it('a transfer release gives its count back only if its compare-exchange wins, in the same call', () => {
    const t = table(8);
    const entry = t.layout.regions + L.REGION_HEADER_WORDS;
    const h = publish(t, 4, entry);
    t.cloneHeld(4, entry + 1, h); // stands for the transfer's count
    const stateWord = t.layout.transferTable + L.T_STATE;
    t.i32[stateWord] = (9 << 2) | L.TRANSFER_IN_FLIGHT;
    expect(
      t.releaseTransfer(stateWord, { inFlight: (8 << 2) | L.TRANSFER_IN_FLIGHT, free: 8 << 2 }, 4),
      'an older sequence',
    ).to.equal(false);
    expect(t.count(4)).to.equal(2);
    expect(t.releaseTransfer(stateWord, { inFlight: (9 << 2) | L.TRANSFER_IN_FLIGHT, free: 9 << 2 }, 4)).to.equal(true);
    expect([t.count(4), t.i32[stateWord]]).to.deep.equal([1, 9 << 2]);
    expect(
      t.releaseTransfer(stateWord, { inFlight: (9 << 2) | L.TRANSFER_IN_FLIGHT, free: 9 << 2 }, 4),
      'released already',
    ).to.equal(false);
    expect(t.count(4)).to.equal(1);
  });

  it(
    'the coordinator pops a released slot once, then frees it with a new generation, which wraps ' +
      'to 1 (never 0) past the largest (I1, I2)',
    () => {
      const t = table(8);
      const entry = t.layout.regions + L.REGION_HEADER_WORDS;
      const h = publish(t, 6, entry);
      t.drop(6, entry);
      expect(t.popReleased()).to.equal(6);
      expect(t.popReleased()).to.equal(NO_SLOT);
      expect(t.freeSlot(6, 0x55), 'no wrap').to.equal(false);
      expect([t.state(6), t.generation(6), t.count(6), t.tag(6)]).to.deep.equal([L.SLOT_FREE, 2, 0, 0x55]);
      expect(t.check(h), 'the old handle').to.equal(NO_SLOT);
      t.i32[t.word(5, L.S_GEN)] = t.codec.maxGeneration;
      expect(t.freeSlot(5, 0), 'wrapped').to.equal(true);
      expect([t.state(5), t.generation(5)]).to.deep.equal([L.SLOT_FREE, 1]);
    },
  );

  it('a queued slot that is not DYING is reported, never freed (a slot queued twice)', () => {
    const t = table(8);
    const entry = t.layout.regions + L.REGION_HEADER_WORDS;
    publish(t, 3, entry);
    t.drop(3, entry);
    t.i32[t.word(3, L.S_STATE)] = L.SLOT_FREE; // as if it had been collected already
    expect(() => t.popReleased()).to.throw(/released slot 3 is not dying/);
  });

  describe('a store recycling its own unposted slot (drop_own)', () => {
    const STORE = 1;
    /** Slot `index` published by store 1 as `new` does (owner set at grant, value not posted yet). */
    function fresh(t: LooseSlotTable, index: number, entry: number): number {
      t.i32[t.word(index, L.S_OWNER)] = STORE;
      t.i32[t.word(index, L.S_STATE)] = L.SLOT_RESERVED;
      return t.publishNew(index, 7, entry, L.regionBase(t.layout, STORE) + L.R_CREATED);
    }
    const disposedWord = (t: LooseSlotTable): number => L.regionBase(t.layout, STORE) + L.R_DISPOSED;

    it(
      'the last count of a value never posted: RESERVED again for the store, new generation, counted ' +
        'disposed, nothing queued',
      () => {
        const t = table(8);
        const entry = t.layout.regions + L.REGION_HEADER_WORDS;
        const h = fresh(t, 2, entry);
        expect(t.i32[t.word(2, L.S_OWNER)]).to.equal(STORE | L.OWNER_UNPOSTED);
        t.cloneHeld(2, entry + 1, h);
        expect(t.dropOwn(2, entry + 1, STORE, disposedWord(t)), 'not the last count').to.equal(false);
        expect(t.count(2)).to.equal(1);
        expect(t.dropOwn(2, entry, STORE, disposedWord(t))).to.equal(true);
        expect([
          t.state(2),
          t.generation(2),
          t.count(2),
          t.tag(2),
          t.i32[t.word(2, L.S_OWNER)],
          t.i32[entry],
        ]).to.deep.equal([L.SLOT_RESERVED, 2, 0, 0, STORE, 0]);
        expect(t.i32[disposedWord(t)]).to.equal(1);
        expect(t.pendingReleases()).to.equal(0);
        expect(t.check(h), 'the old handle (I1)').to.equal(NO_SLOT);
        expect(t.tryCloneRaw(h, entry + 2)).to.equal(NO_SLOT);
        expect(t.isReservedFor(2, 2, STORE)).to.equal(true);
        const next = t.publishNew(2, 7, entry, L.regionBase(t.layout, STORE) + L.R_CREATED);
        expect(next).to.equal(encodeHandle(t.codec, 2, 2));
        expect(t.check(h), 'the old handle, once the slot holds the next object').to.equal(NO_SLOT);
      },
    );

    it(
      "a posted value, a value a request waits for and another store's value go to the coordinator " +
        'as before; a slot at its last generation is recycled with generation 1, and the wrap counted',
      () => {
        const t = table(8);
        const entry = t.layout.regions + L.REGION_HEADER_WORDS;
        const posted = fresh(t, 1, entry);
        t.markPosted(1);
        expect(t.i32[t.word(1, L.S_OWNER)]).to.equal(STORE);
        expect(t.dropOwn(1, entry, STORE, disposedWord(t))).to.equal(false);
        expect([t.state(1), t.pendingReleases()]).to.deep.equal([L.SLOT_DYING, 1]);
        expect(t.check(posted)).to.equal(NO_SLOT);

        const wanted = fresh(t, 3, entry);
        expect(t.markWanted(3, wanted), 'count 1: the request may wait').to.equal(true);
        expect(t.dropOwn(3, entry, STORE, disposedWord(t))).to.equal(false);
        expect([t.state(3), t.pendingReleases()]).to.deep.equal([L.SLOT_DYING, 2]);
        expect(t.markWanted(3, wanted), 'count 0: the request fails at once').to.equal(false);

        fresh(t, 4, entry);
        expect(t.dropOwn(4, entry, STORE + 1, disposedWord(t)), 'dropped by store 2').to.equal(false);
        expect([t.state(4), t.pendingReleases()]).to.deep.equal([L.SLOT_DYING, 3]);

        t.i32[t.word(5, L.S_GEN)] = t.codec.maxGeneration;
        const last = fresh(t, 5, entry);
        expect(t.dropOwn(5, entry, STORE, disposedWord(t)), 'its generation wraps').to.equal(true);
        expect([t.state(5), t.generation(5), t.pendingReleases()]).to.deep.equal([L.SLOT_RESERVED, 1, 3]);
        expect(t.i32[disposedWord(t)]).to.equal(1);
        expect(t.i32[disposedWord(t) + 1], "the store's R_WRAPS").to.equal(1);
        expect(t.check(last)).to.equal(NO_SLOT);
      },
    );

    it('a dropOwn below zero is refused and the count restored (I6)', () => {
      const t = table(8);
      const entry = t.layout.regions + L.REGION_HEADER_WORDS;
      fresh(t, 6, entry);
      t.markPosted(6);
      t.dropOwn(6, entry, STORE, disposedWord(t));
      expect(() => t.dropOwn(6, entry, STORE, disposedWord(t))).to.throw(/went below zero/);
      expect(t.count(6)).to.equal(0);
    });
  });

  it('a drop below zero is refused and the count restored (I6)', () => {
    const t = table(8);
    const entry = t.layout.regions + L.REGION_HEADER_WORDS;
    publish(t, 1, entry);
    t.drop(1, entry);
    expect(() => t.drop(1, -1)).to.throw(/went below zero/);
    expect(t.count(1)).to.equal(0);
    expect(t.pendingReleases()).to.equal(1);
  });
});
