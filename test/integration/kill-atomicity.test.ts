/**
 * Kill atomicity of the count kernel. A worker loops over the operations that pair a count with
 * the record that owns it (clone, fromRaw, drop, transfer send/adopt/release), and is terminated
 * after a random delay; every count left must then be owned by exactly one record. Measured on
 * this machine before the kernel: a `terminate()` landed between two consecutive JS
 * `Atomics.add` calls in 148 of 300 trials, so the JS versions of these pairs could leak a count
 * or lose its owner; inside one Wasm function, 0 of 300.
 *
 * Set SHAREDREF_SEED to replay a run.
 */
import { expect } from 'chai';
import { heapMemory } from '../../src/shared/kernel';
import * as L from '../../src/shared/layout';
import { SlotTable } from '../../src/shared/slot-table';
import { type LooseSlotTable, loose } from '../fixtures/loose-slots';
import { TransferTable } from '../../src/shared/transfer-table';
import { writeHeader } from '../../src/shared/header';
import { seeded, startWorker, stopWorkers } from '../helpers';

const SEED = Number(process.env.SHAREDREF_SEED ?? 0x7e41);
const TRIALS = Number(process.env.KILL_TRIALS ?? 24);
const SLOT = 5;
/** Root entries the worker uses: 1 … ENTRIES (entry 0 holds the object's base count). */
const ENTRIES = 10;

/** A slot table over a fresh heap memory with SLOT live (count 1, its root at `entry`). */
function freshHeap(): {
  table: SlotTable;
  t: LooseSlotTable;
  memory: WebAssembly.Memory;
  handle: number;
  entry: number;
} {
  const layout = L.computeLayout(64, 2, 64, 16);
  const memory = heapMemory(layout.totalWords);
  const i32 = new Int32Array(memory.buffer);
  writeHeader(i32, layout, false);
  for (let i = 0; i < layout.capacity; i++) i32[L.slotBase(layout, i) + L.S_GEN] = 1;
  const table = new SlotTable(memory, layout);
  const t = loose(table);
  const entry = L.regionBase(layout, 1) + L.REGION_HEADER_WORDS;
  i32[t.word(SLOT, L.S_STATE)] = L.SLOT_RESERVED;
  const handle = t.publishBuilt(SLOT, 0, entry, L.regionBase(layout, 1) + L.R_CREATED);
  return { table, t, memory, handle, entry };
}

describe('kill atomicity of the count kernel', () => {
  afterEach(stopWorkers);

  it(
    `a worker terminated at a random point never separates a count from the root entry or transfer that owns ` +
      `it (seed ${SEED}; regression: JS Atomics pairs could be split by terminate)`,
    async () => {
      const rand = seeded(SEED);
      for (let trial = 0; trial < TRIALS; trial++) {
        const { table, t, memory, handle, entry } = freshHeap();
        const flag = new SharedArrayBuffer(4);
        const worker = startWorker('count-loop.ts', { workerData: { memory, handle, slot: SLOT, entry, flag } });
        let failure: Error | undefined;
        worker.once('error', (err) => (failure = err));
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        const go = new Int32Array(flag);
        for (let spins = 0; Atomics.load(go, 0) === 0; spins++) {
          if (failure !== undefined) throw failure;
          expect(spins, 'the worker started its loop').to.be.below(2000);
          await new Promise((r) => setTimeout(r, 5));
        }
        await new Promise((r) => setTimeout(r, rand() * 12));
        await worker.terminate();
        await exited;

        let owners = 1; // entry 0: the base count
        for (let k = 1; k <= ENTRIES; k++) if (t.i32[entry + k] !== 0) owners++;
        const tt = new TransferTable(t.i32, t.layout, table);
        let claimed = 0;
        for (let x = 0; x < t.layout.transfers; x++) {
          const state = t.i32[t.layout.transferTable + x * L.TRANSFER_WORDS + L.T_STATE]! & 3;
          if (state === L.TRANSFER_IN_FLIGHT) owners++;
          if (state === L.TRANSFER_CLAIMED) claimed++;
        }
        expect(claimed, `trial ${trial}: a transfer left half-claimed`).to.equal(0);
        expect(t.count(SLOT), `trial ${trial}: the count against the records that own it`).to.equal(owners);
        expect(t.state(SLOT), `trial ${trial}`).to.equal(L.SLOT_LIVE);
        expect(t.pendingReleases(), `trial ${trial}: nothing was queued`).to.equal(0);
        // What a dead store's clean-up does: release every record; the object is then released once.
        expect(tt.releaseOwnedBy(2)).to.equal(
          owners - 1 - [...Array(ENTRIES).keys()].filter((k) => t.i32[entry + k + 1] !== 0).length,
        );
        for (let k = 1; k <= ENTRIES; k++) if (t.i32[entry + k] !== 0) t.drop(SLOT, entry + k);
        expect(t.count(SLOT)).to.equal(1);
        t.drop(SLOT, entry);
        expect([t.state(SLOT), t.popReleased(), t.popReleased()]).to.deep.equal([L.SLOT_DYING, SLOT, -1]);
      }
    },
  );
});
