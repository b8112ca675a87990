import { expect } from 'chai';
import * as L from '../../src/shared/layout';

describe('shared layout', () => {
  it('pins the header, slot, region and transfer field offsets (a change is a layout-version bump)', () => {
    expect(L.LAYOUT_VERSION).to.equal(7);
    expect(L.MAGIC).to.equal(0x53524546);
    expect([
      L.H_MAGIC,
      L.H_LAYOUT_VERSION,
      L.H_CAPACITY,
      L.H_MAX_STORES,
      L.H_ROOTS_PER_STORE,
      L.H_TRANSFERS,
    ]).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect([L.H_STATE, L.H_CREATED, L.H_DISPOSED, L.H_COLLECTIONS, L.H_STORES, L.H_WRAPS]).to.deep.equal([
      6, 8, 9, 10, 11, 12,
    ]);
    expect([L.H_RQ_HEAD, L.H_RQ_TAIL, L.H_TYPE_COUNT, L.H_DEBUG, L.H_FREE_LIST, L.H_ABANDONED]).to.deep.equal([
      13, 14, 15, 16, 17, 18,
    ]);
    expect([L.H_GEN_BITS, L.H_LISTEN, L.H_EVENTS_POSTED, L.H_LEASE_TIMEOUTS, L.HEADER_WORDS]).to.deep.equal([
      19, 20, 21, 22, 32,
    ]);
    expect([
      L.LISTEN_GC,
      L.LISTEN_STORE_ATTACH,
      L.LISTEN_STORE_DETACH,
      L.LISTEN_LEASE_TIMEOUT,
      L.LISTEN_ABANDONED,
    ]).to.deep.equal([1, 2, 4, 8, 16]);
    expect([L.PH_MIN, L.PH_MAX, L.PH_BUCKETS, L.PAUSE_BUCKETS, L.PAUSE_HISTOGRAM_WORDS]).to.deep.equal([
      0, 1, 2, 448, 450,
    ]);
    expect([L.TYPE_NAMES_MAX, L.TYPE_NAME_ARENA_BYTES]).to.deep.equal([1024, 65536]);
    expect([L.S_COUNT, L.S_GEN, L.S_STATE, L.S_OWNER, L.S_TAG, L.S_VERSION, L.SLOT_WORDS]).to.deep.equal([
      0, 1, 2, 3, 4, 5, 6,
    ]);
    expect([L.R_STATE, L.R_MAILBOX, L.R_HIGH_WATER, L.R_CREATED, L.R_DISPOSED, L.R_WRAPS]).to.deep.equal([
      0, 1, 2, 3, 4, 5,
    ]);
    // The kernel's drop_own finds R_WRAPS right after R_DISPOSED.
    expect(L.R_WRAPS - L.R_DISPOSED).to.equal(1);
    expect([L.REGION_HEADER_WORDS, L.REGION_FREE, L.REGION_ATTACHED, L.REGION_LINKED]).to.deep.equal([6, 0, 1, 2]);
    expect([L.T_STATE, L.T_HANDLE, L.T_OWNER, L.T_TAG, L.TRANSFER_WORDS]).to.deep.equal([0, 1, 2, 3, 4]);
    expect([L.SLOT_FREE, L.SLOT_RESERVED, L.SLOT_LIVE, L.SLOT_DYING]).to.deep.equal([0, 1, 2, 3]);
  });

  it('places the parts back to back with no overlap', () => {
    const l = L.computeLayout(1000, 8, 100, 64);
    expect(l.slots).to.equal(L.HEADER_WORDS);
    expect(l.releaseQueue).to.equal(L.HEADER_WORDS + 1000 * L.SLOT_WORDS);
    expect(l.releaseQueueSize).to.equal(1024);
    expect(l.typeNamesByte / 4).to.equal(l.releaseQueue + 1024);
    expect(l.regions).to.equal(l.typeNamesByte / 4 + L.TYPE_NAMES_MAX + L.TYPE_NAME_ARENA_BYTES / 4);
    expect(l.regionWords).to.equal(L.REGION_HEADER_WORDS + 100);
    expect(l.transferTable).to.equal(l.regions + 8 * l.regionWords);
    expect(l.pauseHistogram).to.equal(l.transferTable + 64 * L.TRANSFER_WORDS);
    expect(l.totalWords).to.equal(l.pauseHistogram + L.PAUSE_HISTOGRAM_WORDS);
    expect(L.regionBase(l, 1)).to.equal(l.regions);
    expect(L.regionBase(l, 8) + l.regionWords).to.equal(l.transferTable);
  });

  it('rejects a buffer that is not a heap of this layout version', () => {
    expect(() => L.layoutOf(new Int32Array(64))).to.throw(TypeError, /not a sharedref heap/);
  });
});
