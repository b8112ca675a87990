/**
 * The coordinator: an actor on its own worker thread that owns every host value of one heap.
 *
 * Coordinator thread only. It grants slot batches, receives posted values, serves reads,
 * `dataMut` leases, method calls and in-place construction (over comlink and, synchronously,
 * over each store's mailbox), drains the release queue and disposes each value exactly once
 * (I3), and cleans up after stores whose thread died (I4).
 *
 * It never blocks on another thread (I7): it never calls `Atomics.wait` and never waits for a
 * reply from a store; every request it cannot answer yet (a value still in the post, an object
 * busy with another mutation) is parked as a promise and answered later. It waits for user code
 * (factories, methods, async disposers) at most `userCodeTimeoutMs` each (I8). It records every
 * collection's pause in the shared histogram, and posts diagnostics events (collections, stores
 * attaching and leaving, lease timeouts, abandoned user code) to the creating thread for the
 * channels it listens to (events.ts).
 *
 * Rejected: running the coordinator on the creating (main) thread. It would save a thread, but
 * synchronous calls from the main thread (`dataSync`) would deadlock on themselves, and a busy
 * main thread would stall every worker.
 */
import { fileURLToPath } from 'node:url';
import { debuglog } from 'node:util';
import { receiveMessageOnPort } from 'node:worker_threads';
import {
  HeapClosedError,
  InternalError,
  InvalidHandleError,
  NotCloneableError,
  StoreClosedError,
  serializeError,
} from '../errors';
import type { ResolvedHeapOptions } from '../options';
import type {
  ControlMessage,
  CoordinatorApi,
  GcReport,
  HeapMessage,
  LeaseGrant,
  ReplyMessage,
  StorePorts,
} from '../rpc/protocol';
import type { DiagnosticsEvent, GcTrigger, StoreDetachReason } from '../diagnostics/messages';
import { exposeOn } from '../rpc/endpoint';
import { type SlotIndex, encodeHandle, handleGeneration } from '../shared/handle';
import {
  attachedStores,
  countAbandoned,
  countCollection,
  countDisposed,
  countLeaseTimeout,
  countStoreGone,
  liveCount,
} from '../shared/header';
import { type Layout, SLOT_DYING, SLOT_LIVE, SLOT_RESERVED } from '../shared/layout';
import { closeHeapAndWakeAll, mailboxSignal } from '../shared/mailbox';
import { drainRegion, freeRegion, mailboxWord } from '../shared/root-region';
import { recordPause } from '../shared/pause-histogram';
import { SlotManager } from '../shared/slot-manager';
import { NO_SLOT, SlotTable } from '../shared/slot-table';
import { TransferTable } from '../shared/transfer-table';
import { TypeNames, builtinTagOf, typeNameOf } from '../shared/type-names';
import { Events } from './events';
import { HostValues } from './host-values';
import { Turns } from './turns';
import { type UserCode, bounded, checkCloneable, describeUserCode, factoryOf, methodOf } from './user-code';

const debug = debuglog('sharedref');

/**
 * Slots a background collection frees before it lets the coordinator answer requests again: at
 * about 70 ns a slot, a request waits behind a slice for about 70 µs at most. With 8192 a store's
 * slot grant waited ~0.6 ms behind slices on the host-string workload, longer than half a batch lasts.
 */
const COLLECT_SLICE = 1024;

interface StoreLinkState {
  readonly id: number;
  readonly ports: StorePorts;
  /** The API this store sees, built once: comlink serves it, and the mailbox's requests call it. */
  readonly api: CoordinatorApi;
  gone: boolean;
}

/** One heap's coordinator. */
export class Coordinator {
  readonly #i32: Int32Array;
  readonly #layout: Layout;
  readonly #options: ResolvedHeapOptions;
  readonly #table: SlotTable;
  readonly #slots: SlotManager;
  readonly #values: HostValues;
  readonly #turns: Turns;
  readonly #types: TypeNames;
  readonly #transfers: TransferTable;
  readonly #events: Events;
  readonly #stores = new Map<number, StoreLinkState>();
  /** Constructions whose factory has not settled yet; `close()` waits for them, bounded. */
  readonly #constructions = new Set<Promise<unknown>>();
  /** Slots a construction in place (`newWith`) is filling now, with how many (a retry may overlap). */
  readonly #building = new Map<SlotIndex, number>();
  #host: Readonly<Record<string, unknown>> | null = null;
  #closed = false;
  #shutdown: Promise<{ t: 'closed'; disposed: number; disposeErrors: number }> | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** A background collection's next slice is scheduled. */
  #sliceScheduled = false;

  /** `post` sends a diagnostics event to the creating thread, on the heap port. */
  constructor(
    memory: WebAssembly.Memory,
    layout: Layout,
    options: ResolvedHeapOptions,
    post: (event: DiagnosticsEvent) => void,
  ) {
    const i32 = new Int32Array(memory.buffer);
    this.#i32 = i32;
    this.#layout = layout;
    this.#options = options;
    this.#table = new SlotTable(memory, layout);
    this.#slots = new SlotManager(this.#table, options.debug);
    this.#events = new Events(i32, post);
    const abandoned = (code: UserCode): void => this.#abandoned(code);
    this.#values = new HostValues(layout.capacity, options.userCodeTimeoutMs, abandoned);
    this.#turns = new Turns(options.leaseTimeoutMs, options.userCodeTimeoutMs, {
      abandoned,
      leaseTimedOut: (index, storeId) => this.#leaseTimedOut(index, storeId),
    });
    this.#types = new TypeNames(i32, layout);
    this.#transfers = new TransferTable(i32, layout, this.#table);
    const every = options.autoCollectMs > 0 ? options.autoCollectMs : options.debug ? 20 : 0;
    if (every > 0) this.#timer = setInterval(() => void this.collect(true, 'timer'), every);
  }

  /** Loads the host module whose own exports are the factories of `newWith`. */
  async loadHostModule(): Promise<void> {
    const spec = this.#options.hostModule;
    if (spec === null) return;
    // tsc compiles this import() to require() in the CommonJS build, and require() takes a path, not a file: URL.
    const mod = (await import(spec.startsWith('file:') ? fileURLToPath(spec) : spec)) as Record<string, unknown>;
    // An ESM module may export its factories as a default object; named exports win.
    const dflt = mod.default;
    const host: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const src of [dflt !== null && typeof dflt === 'object' ? dflt : {}, mod] as Record<string, unknown>[]) {
      for (const key of Object.keys(src)) if (key !== 'default') host[key] = src[key];
    }
    this.#host = Object.freeze(host);
  }

  /** Handles a message on the heap port (from the creating thread). */
  onHeapMessage(msg: HeapMessage, reply: (event: unknown) => void): void {
    if (msg.t === 'attach') this.#attach(msg.storeId, msg.ports);
    else if (msg.t === 'closing') this.#turns.close(() => new HeapClosedError('the pending call'));
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
    ports.control.on('close', () => this.#storeGone(link, 'exit'));
    debug('store %d attached', storeId);
    if (this.#events.wants('sharedref:store:attach')) {
      this.#events.send('sharedref:store:attach', { storeId, stores: attachedStores(this.#i32) });
    }
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
        this.#storeGone(link, 'close');
        break;
    }
  }

  /** Values posted by a store's `ExternRef.new`: `values[k]` is the value of object `handles[k]`. */
  #put(handles: Uint32Array, values: unknown[]): void {
    if (this.#closed) return;
    const codec = this.#table.codec;
    for (let k = 0; k < values.length; k++) {
      const handle = handles[k]!;
      const index = this.#table.indexOf(handle);
      // A post for a slot already freed (its count reached 0 and it was collected before the
      // value arrived) carries an old generation: the value is dropped, never stored (I1).
      if (this.#table.generation(index) === handleGeneration(codec, handle)) {
        this.#values.set(index, handle, values[k]);
      }
    }
  }

  /** A synchronous request: its reply goes on the store's reply port, then its mailbox word flips. */
  #sync(link: StoreLinkState, op: string, args: unknown[]): void {
    const send = (msg: ReplyMessage): void => {
      if (link.gone && op !== 'bye') return;
      try {
        link.ports.reply.postMessage(msg);
      } catch (err) {
        link.ports.reply.postMessage({ ok: false, error: serializeError(new NotCloneableError('reply', err)) });
      }
      mailboxSignal(this.#i32, mailboxWord(this.#layout, link.id));
    };
    if (op === 'bye') {
      // A store closing itself: everything it held is released before it hears back, so that
      // its region (and its counts) are free when `store.close()` returns.
      this.#storeGone(link, 'close', () => send({ ok: true, value: undefined }));
      return;
    }
    const api = link.api as unknown as Record<string, (...a: unknown[]) => unknown>;
    let result: unknown;
    try {
      const fn = Object.hasOwn(api, op) ? api[op] : undefined;
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
      abandon: (lease) => this.#abandonLease(lease, storeId),
      call: (handle, method, args) => this.#call(handle, method, args, storeId),
      // The index is checked against the slot table (reserved for this store) before any use.
      construct: (index, generation, factory, args) =>
        this.#construct(storeId, index as SlotIndex, generation, factory, args),
      grant: (count) => this.#grant(storeId, count),
      collect: (awaitDisposal) => this.collect(awaitDisposal, 'request'),
      typeName: (tag) => this.#types.name(tag),
      bye: () => undefined, // handled in #sync: only the synchronous goodbye waits for the cleanup
    };
  }

  /** User code overstayed `userCodeTimeoutMs` and was abandoned (I8): counted, traced and published. */
  #abandoned(code: UserCode): void {
    const ms = this.#options.userCodeTimeoutMs;
    countAbandoned(this.#i32);
    debug('abandoned %s: it did not settle within %d ms (userCodeTimeoutMs)', describeUserCode(code), ms);
    if (this.#events.wants('sharedref:abandoned')) {
      const { kind, name, handle, storeId } = code;
      this.#events.send('sharedref:abandoned', { kind, name, handle, storeId, userCodeTimeoutMs: ms });
    }
  }

  /** A `dataMut` lease ended at `leaseTimeoutMs` without a commit: counted, traced and published. */
  #leaseTimedOut(index: SlotIndex, storeId: number): void {
    const ms = this.#options.leaseTimeoutMs;
    const handle = this.#table.handleOf(index);
    countLeaseTimeout(this.#i32);
    debug('lease of store %d on handle %d timed out after %d ms (leaseTimeoutMs)', storeId, handle, ms);
    if (this.#events.wants('sharedref:lease:timeout')) {
      this.#events.send('sharedref:lease:timeout', { storeId, handle, leaseTimeoutMs: ms });
    }
  }

  #live(handle: number): SlotIndex {
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
  #whenPresent(index: SlotIndex, handle: number): Promise<void> | null {
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
  #stillPresent(index: SlotIndex, handle: number): void {
    if (!this.#values.has(index) || this.#table.generation(index) !== handleGeneration(this.#table.codec, handle)) {
      throw new InvalidHandleError(handle, 'the object was freed');
    }
  }

  /** Waits for the value of `handle` and checks that its object still lives. */
  async #present(index: SlotIndex, handle: number): Promise<void> {
    await this.#whenPresent(index, handle);
    this.#stillPresent(index, handle);
  }

  /** The value of slot `index` as data; a value built in place is not data (use `call`). */
  #dataOf(index: SlotIndex, what: string): unknown {
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

  /** A `dataMut` lease: a turn in the object's queue (turns.ts), granted after every earlier one. */
  async #acquire(handle: number, storeId: number): Promise<LeaseGrant> {
    const index = this.#live(handle);
    const { lease, grant } = await this.#turns.acquire(index, storeId, async () => {
      await this.#present(index, handle);
      return { value: this.#dataOf(index, 'dataMut'), version: this.#table.version(index) };
    });
    return { lease, value: grant.value, version: grant.version };
  }

  #commit(lease: number, value: unknown, storeId: number): number {
    if (this.#closed) throw new HeapClosedError('commit');
    const index = this.#turns.take(lease, storeId);
    this.#values.set(index, this.#table.handleOf(index), value);
    // The type follows the value (typeOf reads the tag), before the version tells caches.
    this.#table.setTag(index, builtinTagOf(value));
    return this.#table.bumpVersion(index);
  }

  #abandonLease(lease: number, storeId: number): void {
    try {
      this.#turns.take(lease, storeId);
    } catch {
      // already expired or broken: nothing to give back
    }
  }

  /** A method call: a turn in the object's queue, bounded by `userCodeTimeoutMs`. */
  #call(handle: number, method: string, args: unknown[], storeId: number): Promise<unknown> {
    const index = this.#live(handle);
    const code: UserCode = { kind: 'method', name: String(method), handle, storeId };
    const what = describeUserCode(code);
    return this.#turns.call(
      index,
      code,
      () => this.#present(index, handle),
      async () => {
        const target = this.#values.get(index);
        const fn = methodOf(target, method);
        let result: unknown;
        try {
          result = await fn.apply(target, args);
        } finally {
          // A method may change its object: stores must revalidate their cached copies.
          this.#table.bumpVersion(index);
        }
        checkCloneable(result, `${what} result`);
        return result;
      },
    );
  }

  /**
   * Builds a value in place for `storeId` in its reserved slot `index`. A construction whose
   * reservation is gone when the factory returns (its store died or closed, the heap closed, the
   * call was abandoned) disposes its own value and touches nothing else: the slot may already hold
   * another object (I1, I3).
   */
  #construct(storeId: number, index: SlotIndex, generation: number, factory: string, args: unknown[]): Promise<number> {
    if (this.#closed) return Promise.reject(new HeapClosedError('newWith'));
    if (!this.#table.isReservedFor(index, generation, storeId)) {
      return Promise.reject(new InternalError(`slot ${index} is not reserved for store ${storeId}`));
    }
    let fn: (...a: unknown[]) => unknown;
    try {
      fn = factoryOf(this.#host, factory);
    } catch (err) {
      return Promise.reject(err);
    }
    const code: UserCode = { kind: 'factory', name: factory, handle: 0, storeId };
    const detached = (value: unknown): void => {
      const p = this.#values.disposeDetached(value);
      if (p !== null) this.#track(p);
    };
    const built = Promise.resolve().then(() => fn(...args));
    this.#building.set(index, (this.#building.get(index) ?? 0) + 1);
    const work = bounded(built, this.#options.userCodeTimeoutMs, code, (c) => this.#abandoned(c), detached).then(
      (value) => {
        if (this.#closed || !this.#table.isReservedFor(index, generation, storeId)) {
          detached(value);
          throw this.#closed ? new HeapClosedError('newWith') : new StoreClosedError('newWith');
        }
        this.#values.set(index, encodeHandle(this.#table.codec, index, generation), value, true);
        return this.#types.intern(typeNameOf(value));
      },
    );
    const unmark = (): void => {
      const n = this.#building.get(index)! - 1;
      if (n === 0) this.#building.delete(index);
      else this.#building.set(index, n);
    };
    work.then(unmark, unmark);
    this.#track(work);
    return work;
  }

  /** Tracks user code in flight that `close()` must wait for (bounded). */
  #track(p: Promise<unknown>): void {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.#constructions.add(settled);
    void settled.then(() => this.#constructions.delete(settled));
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
    if (this.#options.debug || this.#slots.freeCount < count) this.#collectSync(Infinity, 'allocation');
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
      const { report } = this.#collectSync(COLLECT_SLICE, 'background');
      if (report.freed === COLLECT_SLICE) this.#collectSoon();
    });
  }

  /**
   * Runs a collection: disposes and frees every slot whose count reached 0. Everything any thread
   * posted on its control port before this request (values, goodbyes of closed stores) is taken
   * in first, although it travelled on another port than the request. With `awaitDisposal`, the
   * report waits for disposals that wait (a method still running on a freed object, an async
   * disposer), each at most `userCodeTimeoutMs`; without (`gcSync`), it comes at once. `trigger`
   * says who asked, for the `sharedref:gc` event.
   */
  collect(awaitDisposal: boolean, trigger: GcTrigger): GcReport | Promise<GcReport> {
    this.#drainControlQueues();
    const { report, pending } = this.#collectSync(Infinity, trigger);
    return pending.length === 0 || !awaitDisposal ? report : Promise.all(pending).then(() => report);
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

  /**
   * Frees up to `limit` released slots: one collection. Its pause goes into the shared histogram
   * and, if the creating thread listens, into a `sharedref:gc` event.
   */
  #collectSync(limit: number, trigger: GcTrigger): { report: GcReport; pending: Promise<void>[] } {
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    let freed = 0;
    let collection = 0;
    if (!this.#closed) {
      // popReleased throws if a slot it takes is not DYING (a bug: a slot queued twice).
      while (freed < limit) {
        const index = this.#table.popReleased();
        if (index === NO_SLOT) break;
        const p = this.#disposeSlot(index);
        if (p !== null) pending.push(p);
        this.#slots.free(index);
        freed++;
      }
      this.#slots.publish();
      collection = countCollection(this.#i32);
      if (this.#options.debug) this.#slots.checkInvariants();
    }
    const report: GcReport = { freed, live: liveCount(this.#i32, this.#layout), pauseMs: performance.now() - t0 };
    if (collection > 0) {
      recordPause(this.#i32, this.#layout, report.pauseMs);
      if (this.#events.wants('sharedref:gc')) {
        this.#events.send('sharedref:gc', { trigger, collection, freed, live: report.live, pauseMs: report.pauseMs });
      }
    }
    return { report, pending };
  }

  /** Disposes the value of slot `index`: its waiting turns fail, a running one finishes first. */
  #disposeSlot(index: SlotIndex): Promise<void> | null {
    const handle = this.#table.handleOf(index);
    this.#turns.breakSlot(index, () => new InvalidHandleError(handle, 'the object was freed'));
    const p = this.#values.dispose(index, this.#turns.whenIdle(index));
    if (p !== null) this.#track(p);
    return p;
  }

  /**
   * A store's thread died or it closed: give back every count it held (I4), nothing else.
   * `beforeClose` runs before its ports close (the reply to a closing store's goodbye).
   */
  #storeGone(link: StoreLinkState, reason: StoreDetachReason, beforeClose?: () => void): void {
    if (link.gone) {
      beforeClose?.();
      return;
    }
    link.gone = true;
    this.#stores.delete(link.id);
    const id = link.id;
    this.#turns.breakStore(id, () => new StoreClosedError('dataMut'));
    const released = drainRegion(this.#i32, this.#layout, id, (handle) => {
      this.#table.drop(this.#table.indexOf(handle), -1);
    });
    const transfers = this.#transfers.releaseOwnedBy(id);
    for (const index of this.#slots.ownedBy(id, [SLOT_RESERVED])) {
      // A value built in place for this store, which died before it read the reply and published
      // the slot: nobody can ever reach it, so it is disposed now, or never (I3). Freeing the slot
      // without this also left the value behind for the slot's next object (I1).
      if (this.#values.has(index)) {
        void this.#disposeSlot(index); // tracked: close() waits for it
        this.#slots.reclaimNamed(index);
      } else if (this.#building.has(index)) this.#slots.reclaimNamed(index);
      else this.#slots.reclaim(index);
    }
    for (const index of this.#slots.ownedBy(id, [SLOT_LIVE, SLOT_DYING])) {
      if (!this.#values.has(index)) this.#values.markLost(index, this.#table.handleOf(index));
    }
    freeRegion(this.#i32, this.#layout, id);
    countStoreGone(this.#i32);
    beforeClose?.();
    for (const p of [link.ports.control, link.ports.reply, link.ports.rpc]) p.close();
    debug('store %d gone (%s): released %d counts and %d transfers in flight', id, reason, released, transfers);
    if (!this.#closed && this.#events.wants('sharedref:store:detach')) {
      const stores = attachedStores(this.#i32);
      this.#events.send('sharedref:store:detach', { storeId: id, reason, released, transfers, stores });
    }
  }

  /**
   * Closes the heap (I3, I8): takes in what stores posted, collects, then refuses everything new
   * and fails every pending request at once with `ERR_HEAP_CLOSED`; waits for constructions in
   * flight (each at most `userCodeTimeoutMs`), disposes every value left exactly once (after a
   * method still running on it, at most `userCodeTimeoutMs`; an async disposer at most as long),
   * and answers. Idempotent.
   */
  shutdown(): Promise<{ t: 'closed'; disposed: number; disposeErrors: number }> {
    this.#shutdown ??= this.#close();
    return this.#shutdown;
  }

  async #close(): Promise<{ t: 'closed'; disposed: number; disposeErrors: number }> {
    this.#drainControlQueues();
    const { pending: released } = this.#collectSync(Infinity, 'close');
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#turns.close(() => new HeapClosedError('the pending call'));
    this.#values.close();
    closeHeapAndWakeAll(this.#i32, this.#layout);
    // Factories still running: their values are disposed when they return (detached), within the bound.
    await Promise.all([...released, ...this.#constructions]);
    const pending: Promise<void>[] = [];
    let disposed = 0;
    for (const state of [SLOT_LIVE, SLOT_DYING, SLOT_RESERVED]) {
      for (let k = 0; k < this.#table.capacity; k++) {
        const index = k as SlotIndex;
        if (this.#table.state(index) !== state || !this.#values.has(index)) continue;
        const p = this.#values.dispose(index, this.#turns.whenIdle(index));
        if (p !== null) pending.push(p);
        // A value built in place whose store never published its slot was never counted as
        // created (stats count objects, and it never became one): not counted as disposed either.
        if (state !== SLOT_RESERVED) disposed++;
      }
    }
    countDisposed(this.#i32, disposed);
    await Promise.all([...pending, ...this.#constructions]);
    return { t: 'closed', disposed, disposeErrors: this.#values.disposeErrors };
  }
}
