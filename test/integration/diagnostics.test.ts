/**
 * Observability: the coordinator's events reach `node:diagnostics_channel` subscribers on the
 * creating thread, with their documented fields; nothing is built or posted while nobody
 * subscribes; the pause histogram counts every collection.
 */
import { expect } from 'chai';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  DIAGNOSTICS_CHANNELS,
  type DiagnosticsChannelName,
  type DiagnosticsMessages,
  ExternRef,
  type GcMessage,
  Heap,
  type Pool,
  subscribe as subscribeTyped,
} from '../../src';
import { eventsPosted } from '../../src/shared/header';
import { H_LISTEN, LISTEN_GC } from '../../src/shared/layout';
import { hostModule, rejectsCode, tasksFile, waitFor } from '../helpers';

/**
 * A subscriber on the given channels that keeps every message of one heap (`heapId`, once set):
 * the channels are process-wide, and other test files' heaps publish on them too.
 */
class Listener {
  readonly seen: { name: DiagnosticsChannelName; message: Record<string, unknown> }[] = [];
  heapId: number | null = null;
  readonly #names: readonly DiagnosticsChannelName[];
  #waiters: (() => void)[] = [];
  readonly #onMessage = (message: unknown, name: string | symbol): void => {
    if (this.heapId !== null && (message as { heapId?: unknown }).heapId !== this.heapId) return;
    this.seen.push({ name: name as DiagnosticsChannelName, message: message as Record<string, unknown> });
    for (const wake of this.#waiters.splice(0)) wake();
  };

  constructor(names: readonly DiagnosticsChannelName[] = Object.values(DIAGNOSTICS_CHANNELS)) {
    this.#names = names;
    for (const name of names) subscribe(name, this.#onMessage);
  }

  /** Where the next message will be in `seen` (a mark for `when`). */
  get mark(): number {
    return this.seen.length;
  }

  /** The first message on `name` at `from` or later in `seen` (or still to come) for which `match` holds. */
  async when<N extends DiagnosticsChannelName>(
    name: N,
    match: (m: DiagnosticsMessages[N]) => boolean = () => true,
    from = 0,
  ): Promise<DiagnosticsMessages[N]> {
    for (;;) {
      const i = this.seen.findIndex(
        (e, k) =>
          k >= from &&
          e.name === name &&
          (this.heapId === null || e.message.heapId === this.heapId) &&
          match(e.message as unknown as DiagnosticsMessages[N]),
      );
      if (i >= 0) return this.seen[i]!.message as unknown as DiagnosticsMessages[N];
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** The position in `seen` of `message`. */
  indexOf(message: object): number {
    return this.seen.findIndex((e) => e.message === message);
  }

  close(): void {
    for (const name of this.#names) unsubscribe(name, this.#onMessage);
  }
}

/** The heap's shared words (tests only). */
const words = (heap: Heap): Int32Array => new Int32Array(heap.memory.buffer);

// One heap per describe (created in `before`, closed in `after`): a heap's coordinator thread takes
// about a second to start here, and the debug run repeats this file.

describe('diagnostics channels: a subscriber on the creating thread sees each event', () => {
  let all: Listener;
  let heap: Heap;
  let pool: Pool | null = null;
  before(async () => {
    all = new Listener(); // subscribed before the heap exists: it sees every event of the heap
    heap = await Heap.create({ hostModule, leaseTimeoutMs: 100, userCodeTimeoutMs: 100 });
    all.heapId = heap.id;
  });
  afterEach(async () => {
    await pool?.close();
    pool = null;
  });
  after(async () => {
    await heap?.close();
    all.close();
  });

  it('a collection is published on sharedref:gc with its trigger, number, freed, live and pause', async () => {
    const from = all.mark;
    const roots = Array.from({ length: 10 }, (_, i) => ExternRef.newManuallyRooted(heap.store, { i }));
    for (const r of roots) r.toRaw(); // posted, so the collector (not the store) disposes them
    for (const r of roots) r.unroot();
    const report = await heap.gc();
    const m = await all.when('sharedref:gc', (e) => e.trigger === 'request' && e.pauseMs === report.pauseMs, from);
    expect(m).to.deep.equal({
      heapId: heap.id,
      trigger: 'request',
      collection: m.collection,
      freed: report.freed,
      live: report.live,
      pauseMs: report.pauseMs,
    });
    // Every collection up to it was published, in order (debug mode adds its timer's).
    const numbers = all.seen
      .filter((e) => e.name === 'sharedref:gc')
      .map((e) => (e.message as unknown as DiagnosticsMessages['sharedref:gc']).collection);
    expect(numbers.slice(0, numbers.indexOf(m.collection) + 1)).to.deep.equal(
      Array.from({ length: m.collection }, (_, i) => i + 1),
    );
    expect(m.collection).to.be.at.most(heap.stats().collections);
  });

  it('a store attaching and closing is published on sharedref:store:attach and sharedref:store:detach', async () => {
    expect(await all.when('sharedref:store:attach', (e) => e.storeId === heap.store.id)).to.deep.equal({
      heapId: heap.id,
      storeId: heap.store.id,
      stores: 1,
    });
    const from = all.mark;
    const store = heap.createStore();
    const id = store.id;
    ExternRef.newManuallyRooted(store, 'held by the closing store');
    store.close();
    expect(await all.when('sharedref:store:attach', (e) => e.storeId === id, from)).to.deep.equal({
      heapId: heap.id,
      storeId: id,
      stores: 2,
    });
    expect(await all.when('sharedref:store:detach', (e) => e.storeId === id, from)).to.deep.equal({
      heapId: heap.id,
      storeId: id,
      reason: 'close',
      released: 1,
      transfers: 0,
      stores: 1,
    });
  });

  it('a pool worker that dies holding counts is published on sharedref:store:detach with reason exit', async () => {
    const from = all.mark;
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
    const r = ExternRef.newManuallyRooted(heap.store, 'kept by a worker that dies');
    await rejectsMessage(pool.run('keepAndExit', r, 3), 'worker exited with code: 3');
    const worker = await all.when('sharedref:store:attach', () => true, from);
    const died = await all.when('sharedref:store:detach', (e) => e.storeId === worker.storeId, all.indexOf(worker));
    // Its three manual roots and the task's argument; nothing was in flight any more.
    expect(died).to.deep.equal({
      heapId: heap.id,
      storeId: worker.storeId,
      reason: 'exit',
      released: 4,
      transfers: 0,
      stores: died.stores,
    });
    expect(r.strongCount()).to.equal(1);
    r.unroot();
  });

  it('a lease whose holder does not commit within leaseTimeoutMs is published on sharedref:lease:timeout', async () => {
    const before = heap.stats().leaseTimeouts;
    const r = ExternRef.newManuallyRooted(heap.store, { n: 1 });
    const timedOut = all.when('sharedref:lease:timeout', (e) => e.handle === r.toRaw(), all.mark);
    // The fn outlives its lease: it returns only once the timeout has been published.
    await rejectsCode(
      r.dataMut(async (v: { n: number }) => {
        await timedOut;
        return { n: v.n + 1 };
      }),
      'ERR_LEASE_TIMEOUT',
    );
    expect(await timedOut).to.deep.equal({
      heapId: heap.id,
      storeId: heap.store.id,
      handle: r.toRaw(),
      leaseTimeoutMs: 100,
    });
    expect(heap.stats().leaseTimeouts - before).to.equal(1);
    expect(r.dataSync()).to.deep.equal({ n: 1 });
    r.unroot();
  });

  it('a method, factory or async disposer overstaying its time is published on sharedref:abandoned', async () => {
    const from = all.mark;
    const before = heap.stats().abandoned;
    const base = { heapId: heap.id, userCodeTimeoutMs: 100 };
    const make = (...args: unknown[]) =>
      heap.store.scope(async () => (await ExternRef.newWith(heap.store, 'stuck', ...args)).toManuallyRooted());
    const stuck = await make(1);
    const hangs = await make(2, true); // its async disposer never settles
    const hangsRaw = hangs.toRaw();
    hangs.unroot();
    await Promise.all([
      rejectsCode(stuck.call('hang'), 'ERR_CALL_TIMEOUT'),
      rejectsCode(
        heap.store.scope(() => ExternRef.newWith(heap.store, 'neverBuilt')),
        'ERR_CALL_TIMEOUT',
      ),
      heap.gc(), // waits for the disposer at most userCodeTimeoutMs
    ]);
    expect(await all.when('sharedref:abandoned', (e) => e.kind === 'method', from)).to.deep.equal({
      ...base,
      kind: 'method',
      name: 'hang',
      handle: stuck.toRaw(),
      storeId: heap.store.id,
    });
    expect(await all.when('sharedref:abandoned', (e) => e.kind === 'factory', from)).to.deep.equal({
      ...base,
      kind: 'factory',
      name: 'neverBuilt',
      handle: 0,
      storeId: heap.store.id,
    });
    expect(await all.when('sharedref:abandoned', (e) => e.kind === 'disposer', from)).to.deep.equal({
      ...base,
      kind: 'disposer',
      name: 'Stuck',
      handle: hangsRaw,
      storeId: 0,
    });
    expect(heap.stats().abandoned - before).to.equal(3);
    stuck.unroot();
  });
});

describe('diagnostics channels: nothing is sent while nobody subscribes; the pause histogram', () => {
  let heap: Heap;
  let listener: Listener | null = null;
  before(async () => {
    // Not in debug mode: its timer collects between the histogram test's reads.
    heap = await Heap.create({ debug: false, leaseTimeoutMs: 50 });
  });
  afterEach(() => {
    listener?.close();
    listener = null;
  });
  after(async () => {
    await heap?.close();
  });

  /** A store attaching and closing, a lease timeout, a collection. */
  async function churn(): Promise<void> {
    heap.createStore().close();
    const r = ExternRef.newManuallyRooted(heap.store, 1);
    const timeouts = heap.stats().leaseTimeouts;
    await rejectsCode(
      r.dataMut(() => new Promise((resolve) => setTimeout(() => resolve(2), 100))),
      'ERR_LEASE_TIMEOUT',
    );
    // The caller stops waiting once leaseTimeoutMs has passed; the coordinator ends (and counts)
    // the lease on its own timer, which may run a moment later.
    for (let i = 0; i < 200 && heap.stats().leaseTimeouts === timeouts; i++)
      await new Promise((res) => setTimeout(res, 10));
    r.toRaw();
    r.unroot();
    await heap.gc();
  }

  it('with no subscriber the coordinator posts no event; a subscription turns on its channel only', async () => {
    const i32 = words(heap);
    const leaseTimeouts = heap.stats().leaseTimeouts;
    await churn();
    expect(i32[H_LISTEN], 'the listen word').to.equal(0);
    expect(eventsPosted(i32), 'events posted').to.equal(0);
    expect(heap.stats().leaseTimeouts - leaseTimeouts, 'the lease timed out').to.equal(1);

    listener = new Listener([DIAGNOSTICS_CHANNELS.gc]);
    listener.heapId = heap.id;
    heap.stats(); // any heap call on the creating thread notices the subscription at once
    expect(i32[H_LISTEN]).to.equal(LISTEN_GC);
    await churn();
    await listener.when('sharedref:gc', (e) => e.trigger === 'request');
    expect(eventsPosted(i32)).to.equal(listener.seen.length);

    listener.close();
    listener = null;
    heap.stats();
    expect(i32[H_LISTEN]).to.equal(0);
    const posted = eventsPosted(i32);
    await churn();
    expect(eventsPosted(i32)).to.equal(posted);
  });

  it('a subscription made while a heap is open is noticed without any heap call, by the poll', async () => {
    const i32 = words(heap);
    expect(i32[H_LISTEN]).to.equal(0);
    listener = new Listener([DIAGNOSTICS_CHANNELS.gc]);
    await waitFor(() => i32[H_LISTEN] === LISTEN_GC, 'the poll to notice the subscriber');
    listener.close();
    listener = null;
    await waitFor(() => i32[H_LISTEN] === 0, 'the poll to notice the subscriber left');
  });

  it("sharedref's subscribe() types each message by its channel, is noticed at once, unsubscribes", async () => {
    const i32 = words(heap);
    expect(i32[H_LISTEN]).to.equal(0);
    const posted = eventsPosted(i32);
    const seen: GcMessage[] = [];
    const names: string[] = [];
    const off = subscribeTyped(DIAGNOSTICS_CHANNELS.gc, (message, name) => {
      if (message.heapId !== heap.id) return; // typed: no cast (test/types/diagnostics.ts)
      seen.push(message);
      names.push(name);
    });
    try {
      expect(i32[H_LISTEN], 'noticed without a heap call or the poll').to.equal(LISTEN_GC);
      const report = await heap.gc();
      await waitFor(() => seen.some((m) => m.trigger === 'request'), 'the collection to be published');
      const m = seen.find((e) => e.trigger === 'request')!;
      expect(m.collection).to.be.within(1, heap.stats().collections);
      expect(m).to.deep.equal({
        heapId: heap.id,
        trigger: 'request',
        collection: m.collection,
        freed: report.freed,
        live: report.live,
        pauseMs: report.pauseMs,
      });
      expect(names).to.deep.equal(seen.map(() => 'sharedref:gc'));
    } finally {
      off();
    }
    expect(i32[H_LISTEN], 'and its end noticed at once').to.equal(0);
    off(); // a second call does nothing
    const count = seen.length;
    await heap.gc();
    expect(eventsPosted(i32) - posted, 'events posted: only while subscribed').to.equal(count);
    expect(seen).to.have.length(count);
  });

  it('subscribe() refuses a name that is not a sharedref channel, and a listener that is no function', () => {
    expect(() => subscribeTyped('sharedref:nope' as DiagnosticsChannelName, () => undefined)).to.throw(
      TypeError,
      "subscribe: name must be one of sharedref's channels (sharedref:gc, sharedref:store:attach, " +
        'sharedref:store:detach, sharedref:lease:timeout, sharedref:abandoned), received "sharedref:nope"',
    );
    expect(() => subscribeTyped(DIAGNOSTICS_CHANNELS.gc, null as never)).to.throw(
      TypeError,
      'subscribe: onMessage must be a function, received null',
    );
    expect(words(heap)[H_LISTEN]).to.equal(0);
  });

  it('the pause histogram counts every collection, and each pause lies within its min and max', async () => {
    const pauses: number[] = [];
    for (let round = 0; round < 10; round++) {
      heap.store.scope(() => {
        for (let i = 0; i < round; i++) ExternRef.new(heap.store, { i }).toRaw();
      });
      pauses.push((await heap.gc()).pauseMs);
    }
    const hist = heap.pauseHistogram();
    expect(hist.count).to.equal(heap.stats().collections);
    const us = (ms: number): number => Math.round(ms * 1000);
    expect(us(hist.min)).to.be.at.most(Math.min(...pauses.map(us)));
    expect(us(hist.max)).to.be.at.least(Math.max(...pauses.map(us)));
    expect(hist.mean).to.be.within(hist.min, hist.max);
    expect(hist.stddev).to.be.at.least(0);
    const keys = [...hist.percentiles.keys()];
    expect([keys[0], keys.at(-1)]).to.deep.equal([0, 100]);
    const values = [...hist.percentiles.values()];
    expect(values).to.deep.equal([...values].sort((a, b) => a - b));
    expect([values[0], values.at(-1)]).to.deep.equal([hist.min, hist.max]);
    expect(hist.percentile(50)).to.be.within(hist.min, hist.max);
    expect(JSON.parse(JSON.stringify(hist))).to.deep.include({ count: hist.count, min: hist.min, max: hist.max });
  });
});

/** Asserts that `p` rejects with an error whose message is `message`. */
async function rejectsMessage(p: Promise<unknown>, message: string): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught).to.be.instanceOf(Error);
  expect((caught as Error).message).to.equal(message);
}
