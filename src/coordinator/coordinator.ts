/**
 * The coordinator: an actor on its own worker thread that owns every host value of one heap.
 *
 * Coordinator thread only. It grants slot batches, receives posted values, serves reads,
 * `dataMut` leases, method calls and in-place construction (over comlink and, synchronously,
 * over each store's mailbox), drains the release queue and disposes each value exactly once
 * (I3), and cleans up after stores whose thread died (I4).
 *
 * It never blocks on another thread (I7): it never calls `Atomics.wait` and never waits for a
 * reply from a store; every request it cannot answer yet (a value still in the post, a lease
 * held by someone else) is parked as a promise and answered later.
 *
 * Rejected: running the coordinator on the creating (main) thread. It would save a thread, but
 * synchronous calls from the main thread (`dataSync`) would deadlock on themselves, and a busy
 * main thread would stall every worker.
 */
import { debuglog } from 'node:util';
import { receiveMessageOnPort } from 'node:worker_threads';
import {
  HeapClosedError,
  InternalError,
  InvalidHandleError,
  NoSuchFactoryError,
  NoSuchMethodError,
  NotCloneableError,
  serializeError,
} from '../errors';
import type { ResolvedHeapOptions } from '../options';
import type { ControlMessage, CoordinatorApi, GcReport, HeapMessage, ReplyMessage, StorePorts } from '../rpc/protocol';
import { exposeOn } from '../rpc/endpoint';
import { handleGeneration, handleIndex } from '../shared/handle';
import { countCollection, countDisposed, countStoreGone, liveCount } from '../shared/header';
import { type Layout, SLOT_DYING, SLOT_LIVE, SLOT_RESERVED } from '../shared/layout';
import { closeHeapAndWakeAll, mailboxSignal } from '../shared/mailbox';
import { drainRegion, freeRegion, mailboxWord } from '../shared/root-region';
import { NO_SLOT, SlotTable } from '../shared/slot-table';
import { TransferTable } from '../shared/transfer-table';
import { TypeNames, typeNameOf } from '../shared/type-names';
import { HostValues } from './host-values';
import { Leases } from './leases';
import { SlotManager } from '../shared/slot-manager';

const debug = debuglog('sharedref');

/**
 * Slots a background collection frees before it lets the coordinator answer requests again: at
 * about 70 ns a slot, a request waits behind a slice for about 70 µs at most. With 8192 a store's
 * slot grant waited ~0.6 ms behind slices on the seed workload, longer than half a batch lasts.
 */
const COLLECT_SLICE = 1024;

interface StoreLinkState {
  readonly id: number;
  readonly ports: StorePorts;
  /** The API this store sees, built once: comlink serves it, and the mailbox's requests call it. */
  readonly api: CoordinatorApi;
  gone: boolean;
}

/** The error for requests still waiting on an object a collection frees. */
function freedError(index: number): InvalidHandleError {
  return new InvalidHandleError(index, 'the object was freed');
}

/** One heap's coordinator. */
export class Coordinator {
  readonly #i32: Int32Array;
  readonly #layout: Layout;
  readonly #options: ResolvedHeapOptions;
  readonly #table: SlotTable;
  readonly #slots: SlotManager;
  readonly #values: HostValues;
  readonly #leases: Leases;
  readonly #types: TypeNames;
  readonly #transfers: TransferTable;
  readonly #stores = new Map<number, StoreLinkState>();
  #host: Record<string, unknown> | null = null;
  #closed = false;
  #timer: NodeJS.Timeout | null = null;
  /** A background collection's next slice is scheduled. */
  #sliceScheduled = false;

  constructor(memory: WebAssembly.Memory, layout: Layout, options: ResolvedHeapOptions) {
    const i32 = new Int32Array(memory.buffer);
    this.#i32 = i32;
    this.#layout = layout;
    this.#options = options;
    this.#table = new SlotTable(memory, layout);
    this.#slots = new SlotManager(this.#table, options.debug);
    this.#values = new HostValues(layout.capacity);
    this.#leases = new Leases(options.leaseTimeoutMs);
    this.#types = new TypeNames(i32, layout);
    this.#transfers = new TransferTable(i32, layout, this.#table);
    const every = options.autoCollectMs > 0 ? options.autoCollectMs : options.debug ? 20 : 0;
    if (every > 0) this.#timer = setInterval(() => void this.collect(), every);
  }

  /** Loads the host module whose exports are the factories of `newWith`. */
  async loadHostModule(): Promise<void> {
    const spec = this.#options.hostModule;
    if (spec === null) return;
    const mod = (await import(spec)) as Record<string, unknown>;
    // An ESM module may export its factories as a default object; named exports win.
    const dflt = mod.default;
    const host: Record<string, unknown> = { ...(dflt !== null && typeof dflt === 'object' ? dflt : {}), ...mod };
    delete host.default;
    this.#host = host;
  }

  /** Handles a message on the heap port (from the creating thread). */
  onHeapMessage(msg: HeapMessage, reply: (event: unknown) => void): void {
    if (msg.t === 'attach') this.#attach(msg.storeId, msg.ports);
    else if (msg.t === 'shutdown') void this.shutdown().then(reply);
  }

  #attach(storeId: number, ports: StorePorts): void {
    const link: StoreLinkState = { id: storeId, ports, api: this.#apiFor(storeId), gone: false };
    if (this.#closed) {
      for (const p of [ports.control, ports.reply, ports.rpc]) p.close();
      return;
    }
    this.#stores.set(storeId, link);
    exposeOn(link.api, ports.rpc);
    ports.control.on('message', (m: ControlMessage) => this.#onControl(link, m));
    // The store's thread died (or closed its ports): release everything it held (I4).
    ports.control.on('close', () => this.#storeGone(link));
    debug('store %d attached', storeId);
  }

  #onControl(link: StoreLinkState, m: ControlMessage): void {
    switch (m.t) {
      case 'put':
        this.#put(m.handles, m.values);
        break;
      case 'sync':
        this.#sync(link, m.op, m.args);
        break;
      case 'bye':
        this.#storeGone(link);
        break;
    }
  }

  /** Values posted by a store's `ExternRef.new`: `values[k]` is the value of object `handles[k]`. */
  #put(handles: Uint32Array, values: unknown[]): void {
    if (this.#closed) return;
    const codec = this.#table.codec;
    for (let k = 0; k < values.length; k++) {
      const handle = handles[k]!;
      const index = handleIndex(codec, handle);
      // A post for a slot already freed (its count reached 0 and it was collected before the
      // value arrived) carries an old generation: the value is dropped, never stored (I1).
      if (this.#table.generation(index) === handleGeneration(codec, handle)) this.#values.set(index, values[k]);
    }
  }

  #sync(link: StoreLinkState, op: string, args: unknown[]): void {
    const api = link.api as unknown as Record<string, (...a: unknown[]) => unknown>;
    const send = (msg: ReplyMessage): void => {
      if (link.gone) return;
      try {
        link.ports.reply.postMessage(msg);
      } catch (err) {
        link.ports.reply.postMessage({ ok: false, error: serializeError(new NotCloneableError('reply', err)) });
      }
      mailboxSignal(this.#i32, mailboxWord(this.#layout, link.id));
    };
    let result: unknown;
    try {
      const fn = api[op];
      if (typeof fn !== 'function') throw new InternalError(`unknown operation ${op}`);
      result = fn(...args);
    } catch (err) {
      send({ ok: false, error: serializeError(err) });
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => send({ ok: true, value }),
        (err) => send({ ok: false, error: serializeError(err) }),
      );
    } else {
      send({ ok: true, value: result });
    }
  }

  /** The API one store sees: `storeId` is bound by the port, never taken from a message. */
  #apiFor(storeId: number): CoordinatorApi {
    return {
      read: (handle) => this.#read(handle),
      acquire: (handle) => this.#acquire(handle, storeId),
      commit: (lease, value) => this.#commit(lease, value, storeId),
      abandon: (lease) => this.#abandon(lease, storeId),
      call: (handle, method, args) => this.#call(handle, method, args),
      construct: (index, generation, factory, args) => this.#construct(storeId, index, generation, factory, args),
      grant: (count) => this.#grant(storeId, count),
      collect: () => this.collect(),
    };
  }

  #live(handle: number): number {
    if (this.#closed) throw new HeapClosedError();
    const index = this.#table.check(handle);
    if (index === NO_SLOT) throw new InvalidHandleError(handle);
    return index;
  }

  /**
   * Resolves when slot `index` has its value (null: it has). A request that has to wait first
   * marks the slot WANTED, so that its creating store can no longer recycle it unposted: the store
   * posts the value even if the object dies meanwhile, and the slot is freed only here, where a
   * wait still open is failed (I8); it is never reused under the request (I1). If the object died
   * before the mark landed, the request fails now.
   */
  #whenPresent(index: number, handle: number): Promise<void> | null {
    if (!this.#values.has(index) && !this.#table.markWanted(index, handle)) {
      return Promise.reject(
        new InvalidHandleError(handle, 'the object was freed before its value reached the coordinator'),
      );
    }
    return this.#values.whenPresent(index, handle);
  }

  /**
   * Throws ERR_INVALID_HANDLE unless slot `index` still holds the value of `handle`. A wait for a
   * value resolves in a later microtask than the value's arrival, and a collection in between
   * (one that took in the value's post first) may have freed the slot.
   */
  #stillPresent(index: number, handle: number): void {
    if (!this.#values.has(index) || this.#table.generation(index) !== handleGeneration(this.#table.codec, handle)) {
      throw new InvalidHandleError(handle, 'the object was freed');
    }
  }

  /** The value of slot `index` as data; a value built in place is not data (use `call`). */
  #dataOf(index: number, what: string): unknown {
    if (this.#values.isInPlace(index)) {
      const type = typeNameOf(this.#values.get(index));
      throw new NotCloneableError(
        what,
        new TypeError(`the ${type} value was built in place by newWith; use call(method)`),
      );
    }
    return this.#values.get(index);
  }

  #read(handle: number): unknown {
    const index = this.#live(handle);
    const wait = this.#whenPresent(index, handle);
    if (wait === null) return this.#dataOf(index, 'data');
    return wait.then(() => {
      this.#stillPresent(index, handle);
      return this.#dataOf(index, 'data');
    });
  }

  async #acquire(handle: number, storeId: number): Promise<{ lease: number; value: unknown; version: number }> {
    const index = this.#live(handle);
    await this.#whenPresent(index, handle);
    this.#dataOf(index, 'dataMut');
    const lease = await this.#leases.acquire(index, storeId);
    if (this.#table.check(handle) !== index) {
      this.#leases.take(lease, storeId);
      throw new InvalidHandleError(handle, 'the object was freed while waiting for the lease');
    }
    return { lease, value: this.#values.get(index), version: this.#table.version(index) };
  }

  #commit(lease: number, value: unknown, storeId: number): number {
    if (this.#closed) throw new HeapClosedError('commit');
    const index = this.#leases.take(lease, storeId);
    this.#values.set(index, value);
    return this.#table.bumpVersion(index);
  }

  #abandon(lease: number, storeId: number): void {
    try {
      this.#leases.take(lease, storeId);
    } catch {
      // already expired or broken: nothing to give back
    }
  }

  #call(handle: number, method: string, args: unknown[]): Promise<unknown> {
    const index = this.#live(handle);
    return this.#values.serialize(index, async () => {
      await this.#whenPresent(index, handle);
      this.#stillPresent(index, handle);
      const target = this.#values.get(index) as Record<string, unknown> | null | undefined;
      const fn = target?.[method];
      if (typeof fn !== 'function') {
        throw new NoSuchMethodError(method, typeNameOf(target));
      }
      let result: unknown;
      try {
        result = await (fn as (...a: unknown[]) => unknown).apply(target, args);
      } finally {
        // A method may change its object: stores must revalidate their cached copies.
        this.#table.bumpVersion(index);
      }
      if (typeof result === 'object' && result !== null) {
        try {
          structuredClone(result);
        } catch (err) {
          throw new NotCloneableError(`call('${method}') result`, err);
        }
      }
      return result;
    });
  }

  async #construct(
    storeId: number,
    index: number,
    generation: number,
    factory: string,
    args: unknown[],
  ): Promise<number> {
    if (this.#closed) throw new HeapClosedError('newWith');
    if (!this.#table.isReservedFor(index, generation, storeId)) {
      throw new InternalError(`slot ${index} is not reserved for store ${storeId}`);
    }
    const fn = this.#host?.[factory];
    if (typeof fn !== 'function') {
      const known =
        this.#host === null ? 'no hostModule was given to Heap.create' : `known: ${Object.keys(this.#host).join(', ')}`;
      throw new NoSuchFactoryError(factory, known);
    }
    const value: unknown = await (fn as (...a: unknown[]) => unknown)(...args);
    if (!this.#table.isReservedFor(index, generation, storeId)) {
      // The store died while the factory ran: the slot was reclaimed, so the value is disposed now.
      this.#values.set(index, value);
      await this.#values.dispose(index);
      throw new HeapClosedError('newWith');
    }
    this.#values.set(index, value, true);
    return this.#types.intern(typeNameOf(value));
  }

  /**
   * Reserves a batch for a store. A free list too short for the batch is refilled first (the
   * store waits). A grant that leaves less than a quarter of the heap free starts a background
   * collection, in slices between requests, so that under steady allocation the free list does
   * not run dry: a full collection of a large heap's garbage took ~150 ms, and every store that
   * needed a batch meanwhile waited for it.
   */
  #grant(storeId: number, count: number): Int32Array {
    const link = this.#stores.get(storeId);
    if (this.#closed || link === undefined || link.gone) return new Int32Array(0);
    if (this.#options.debug || this.#slots.freeCount < count) this.#collectSync();
    const out = this.#slots.grant(storeId, count);
    if (this.#slots.freeCount < this.#table.capacity >> 2) this.#collectSoon();
    return out;
  }

  /** Schedules the next slice of a background collection, after the requests already queued. */
  #collectSoon(): void {
    if (this.#sliceScheduled || this.#closed || this.#table.pendingReleases() <= 0) return;
    this.#sliceScheduled = true;
    setImmediate(() => {
      this.#sliceScheduled = false;
      if (this.#closed) return;
      const { report } = this.#collectSync(COLLECT_SLICE);
      if (report.freed === COLLECT_SLICE) this.#collectSoon();
    });
  }

  /**
   * Runs a collection: disposes and frees every slot whose count reached 0. Everything any thread
   * posted on its control port before this request (values, goodbyes of closed stores) is taken
   * in first, although it travelled on another port than the request. The report comes at once
   * unless a disposer is async (synchronous callers, `gcSync`, need it at once).
   */
  collect(): GcReport | Promise<GcReport> {
    this.#drainControlQueues();
    const { report, pending } = this.#collectSync();
    return pending.length === 0 ? report : Promise.all(pending).then(() => report);
  }

  /** Handles every message already queued on the stores' control ports, in order. */
  #drainControlQueues(): void {
    for (const link of [...this.#stores.values()]) {
      for (
        let m = receiveMessageOnPort(link.ports.control);
        m !== undefined;
        m = receiveMessageOnPort(link.ports.control)
      ) {
        this.#onControl(link, m.message as ControlMessage);
        if (link.gone) break;
      }
    }
  }

  /** Frees up to `limit` released slots (all of them by default): one collection. */
  #collectSync(limit = Infinity): { report: GcReport; pending: Promise<void>[] } {
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    let freed = 0;
    if (!this.#closed) {
      // popReleased throws if a slot it takes is not DYING (a bug: a slot queued twice).
      while (freed < limit) {
        const index = this.#table.popReleased();
        if (index === NO_SLOT) break;
        this.#leases.breakSlot(index, freedError);
        const p = this.#values.dispose(index);
        if (p !== null) pending.push(p);
        this.#slots.free(index);
        freed++;
      }
      this.#slots.publish();
      countCollection(this.#i32);
      if (this.#options.debug) this.#slots.checkInvariants();
    }
    const report: GcReport = { freed, live: liveCount(this.#i32, this.#layout), pauseMs: performance.now() - t0 };
    return { report, pending };
  }

  /** A store's thread died or it closed: give back every count it held (I4), nothing else. */
  #storeGone(link: StoreLinkState): void {
    if (link.gone) return;
    link.gone = true;
    this.#stores.delete(link.id);
    const id = link.id;
    this.#leases.breakStore(id);
    const released = drainRegion(this.#i32, this.#layout, id, (handle) => {
      this.#table.drop(handleIndex(this.#table.codec, handle), -1);
    });
    const transfers = this.#transfers.releaseOwnedBy(id);
    for (const index of this.#slots.ownedBy(id, [SLOT_RESERVED])) {
      // A value built in place for this store, which died before it read the reply and published
      // the slot: nobody can ever reach it, so it is disposed now, or never (I3). Freeing the slot
      // without this also left the value behind for the slot's next object (I1).
      if (this.#values.has(index)) void this.#values.dispose(index);
      this.#slots.reclaim(index);
    }
    for (const index of this.#slots.ownedBy(id, [SLOT_LIVE, SLOT_DYING])) {
      if (!this.#values.has(index)) this.#values.markLost(index, this.#table.handleOf(index));
    }
    for (const p of [link.ports.control, link.ports.reply, link.ports.rpc]) p.close();
    freeRegion(this.#i32, this.#layout, id);
    countStoreGone(this.#i32);
    debug('store %d gone: released %d counts and %d transfers in flight', id, released, transfers);
  }

  /** Closes the heap: disposes every value left exactly once, then refuses everything (I3, I8). */
  async shutdown(): Promise<{ t: 'closed'; disposed: number; disposeErrors: number }> {
    if (this.#closed) return { t: 'closed', disposed: 0, disposeErrors: this.#values.disposeErrors };
    // Collect first so values whose count already reached 0 are disposed by the ordinary path.
    await this.collect();
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    closeHeapAndWakeAll(this.#i32, this.#layout);
    this.#leases.close(() => new HeapClosedError('dataMut'));
    this.#values.close();
    const pending: Promise<void>[] = [];
    let disposed = 0;
    for (const state of [SLOT_LIVE, SLOT_DYING, SLOT_RESERVED]) {
      for (let index = 0; index < this.#table.capacity; index++) {
        if (this.#table.state(index) !== state) continue;
        if (!this.#values.has(index)) continue;
        const p = this.#values.dispose(index);
        if (p !== null) pending.push(p);
        disposed++;
      }
    }
    countDisposed(this.#i32, disposed);
    await Promise.all(pending);
    return { t: 'closed', disposed, disposeErrors: this.#values.disposeErrors };
  }
}
