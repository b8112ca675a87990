/**
 * `Heap`: creates the shared metadata, starts the coordinator thread, and attaches stores.
 *
 * The creating thread. `Heap.create()` validates options, allocates the shared metadata (a shared
 * `WebAssembly.Memory`, whose buffer is the heap's `SharedArrayBuffer`), writes its header, starts the coordinator and
 * waits until it has loaded the host module.
 * `close()` is idempotent: it refuses new work on every thread and fails what is pending at once,
 * then closes pools, then the coordinator disposes every value left exactly once (I3) and ends.
 * If the coordinator dies unexpectedly the heap closes itself, and every waiter is released (I8).
 *
 * The coordinator thread is unreferenced: a program that forgets `close()` still exits (without
 * running disposers). Pending asynchronous calls keep the process alive until they settle.
 *
 * The creating thread is where the heap's diagnostics events are published: the coordinator posts
 * them on the heap port for the channels this thread has subscribers on (diagnostics/channels.ts).
 */
import { randomInt } from 'node:crypto';
import { type MessagePort, MessageChannel, Worker } from 'node:worker_threads';
import { noticeSubscribers, publishEvent, watchSubscribers } from './diagnostics/channels';
import { type PauseHistogram, pauseHistogramOf } from './diagnostics/histogram';
import { CoordinatorDiedError, HeapClosedError, StoreLimitError, deserializeError, isSerializedError } from './errors';
import { type HeapOptions, type ResolvedHeapOptions, resolveHeapOptions } from './options';
import type { CoordinatorData, GcReport, HeapEvent, HeapMessage, StorePorts } from './rpc/protocol';
import { type Layout, computeLayout } from './shared/layout';
import { isHeapClosed, readCounters, setListenMask, writeHeader } from './shared/header';
import { closeHeapAndWakeAll } from './shared/mailbox';
import { heapMemory } from './shared/kernel';
import { readPauseCounts } from './shared/pause-histogram';
import { claimRegion } from './shared/root-region';
import { SlotTable } from './shared/slot-table';
import { Pool, type PoolOptions } from './pool/pool';
import { entryFile } from './thread-entry';
import { Store } from './store/store';
import { coreOf } from './store/internal';
import type { StoreLink } from './store/link';

/** What `heap.stats()` returns: a synchronous snapshot read from shared memory. */
export interface HeapStats {
  /** Slots in the heap (`options.capacity`). */
  readonly capacity: number;
  /** Objects holding a slot (created and not yet disposed, including those awaiting collection). */
  readonly live: number;
  /** Slots that can take a new object (on the free list or reserved by a store). */
  readonly free: number;
  /** Of `free`, slots reserved in stores' batches. */
  readonly reserved: number;
  /** Objects created since the heap started. */
  readonly created: number;
  /**
   * Objects disposed since the heap started: by collections, at close, and by stores recycling values they never
   * posted.
   */
  readonly disposed: number;
  /** Collections run. */
  readonly collections: number;
  /** Stores attached now. */
  readonly stores: number;
  /** Objects whose count reached 0, waiting for the next collection. */
  readonly pendingRelease: number;
  /**
   * Generation wraps: times a slot's generation went from its largest back to 1. A heap never
   * runs out of handles; a stale handle is refused until its slot has been reused
   * `2^generationBits − 1` times since it was freed (docs/architecture.md, "Handles").
   */
  readonly wraps: number;
  /**
   * User code the coordinator stopped waiting for: methods, factories and async disposers that
   * did not settle within `userCodeTimeoutMs`.
   */
  readonly abandoned: number;
  /** `dataMut` leases that ended because their holder did not commit within `leaseTimeoutMs`. */
  readonly leaseTimeouts: number;
}

/** Something the heap closes before itself (pools). */
export interface HeapResource {
  /** Closes the resource; the heap waits for it before closing itself. */
  close(): Promise<void>;
}

/**
 * A shared heap of host values, with its coordinator thread. `H` is the type of its host module
 * (`Heap.create<typeof import('./host.js')>({ hostModule })`): its stores' `ExternRef.newWith` then
 * takes the module's function exports by name and gives roots of what they return. It exists in
 * the types only; the default, `unknown`, allows any factory name.
 */
export class Heap<H = unknown> implements AsyncDisposable {
  /** The creating thread's store. */
  readonly store: Store<H>;
  /** The options in force, defaults filled in. */
  readonly options: ResolvedHeapOptions;
  /** Identifies this heap across threads. */
  readonly id: number;
  readonly #memory: WebAssembly.Memory;
  readonly #i32: Int32Array;
  readonly #layout: Layout;
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #stores = new Set<Store>();
  readonly #resources = new Set<HeapResource>();
  readonly #slots: SlotTable;
  /** Stops keeping this heap's `H_LISTEN` word current (at close). */
  readonly #unwatch: () => void;
  #closing: Promise<void> | null = null;
  #coordinatorExited = false;
  /** Resolves `close()`'s wait for the coordinator's `closed` reply. */
  #onClosed: (() => void) | null = null;

  private constructor(
    memory: WebAssembly.Memory,
    options: ResolvedHeapOptions,
    worker: Worker,
    port: MessagePort,
    id: number,
  ) {
    this.#memory = memory;
    this.#i32 = new Int32Array(memory.buffer);
    this.#layout = layoutFor(options);
    this.#slots = new SlotTable(memory, this.#layout);
    this.options = options;
    this.#worker = worker;
    this.#port = port;
    this.id = id;
    worker.on('exit', () => this.#onCoordinatorExit());
    // Listening refs the port; it stays unreferenced, as the coordinator thread is.
    port.on('message', (event: HeapEvent) => this.#onHeapEvent(event));
    port.unref();
    this.#unwatch = watchSubscribers((mask) => setListenMask(this.#i32, mask));
    this.store = this.createStore();
    coreOf(this.store).heapOwned = true;
  }

  /**
   * Creates a heap and starts its coordinator. Rejects with a `TypeError`/`RangeError` for bad
   * options. `H`, the host module's type, is asserted: nothing checks it against `hostModule`
   * (a factory it does not export fails at run time with `ERR_NO_SUCH_FACTORY`).
   */
  static async create<H = unknown>(options?: HeapOptions): Promise<Heap<H>> {
    const resolved = resolveHeapOptions(options);
    const layout = layoutFor(resolved);
    // A shared WebAssembly.Memory, so the count kernel (shared/kernel.ts) can address it.
    const memory = heapMemory(layout.totalWords);
    writeHeader(new Int32Array(memory.buffer), layout, resolved.debug);
    const { port1, port2 } = new MessageChannel();
    const { filename, execArgv } = entryFile('coordinator');
    const data: CoordinatorData = { memory, options: resolved, port: port2 };
    const worker = new Worker(filename, {
      workerData: data,
      transferList: [port2],
      execArgv,
      name: 'sharedref-coordinator',
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const onExit = (code: number): void =>
          reject(new CoordinatorDiedError(`the coordinator thread exited with code ${code} while starting`));
        worker.once('error', reject);
        worker.once('exit', onExit);
        port1.once('message', (event: HeapEvent) => {
          worker.off('error', reject);
          worker.off('exit', onExit);
          if (event.t === 'ready') resolve();
          else if (event.t === 'error')
            reject(isSerializedError(event.error) ? deserializeError(event.error) : event.error);
        });
      });
    } catch (err) {
      await worker.terminate();
      port1.close();
      throw err;
    }
    worker.unref();
    port1.unref();
    return new Heap<H>(memory, resolved, worker, port1, randomInt(1, 2 ** 31 - 1));
  }

  /** True once `close()` started (or the coordinator died). */
  get closed(): boolean {
    return this.#closing !== null || isHeapClosed(this.#i32);
  }

  /** A new store on this thread (its own root set); close it with `store.close()`. */
  createStore(): Store<H> {
    const store = new Store<H>(this.createStoreLink());
    this.#stores.add(store);
    coreOf(store).onClose(() => this.#stores.delete(store));
    return store;
  }

  /**
   * Everything another thread needs to attach a store: pass it in `workerData` with
   * `transferList: link.transferList` and call `attachStore(link)` there. The store's counts are
   * released when that thread exits (I4).
   */
  createStoreLink(): StoreLink & {
    /** The link's ports: list them in `transferList` when posting the link to the other thread. */
    readonly transferList: MessagePort[];
  } {
    this.#ensureOpen('createStore');
    const storeId = claimRegion(this.#i32, this.#layout);
    if (storeId === 0) {
      throw new StoreLimitError('createStore', this.#layout.maxStores);
    }
    const control = new MessageChannel();
    const reply = new MessageChannel();
    const rpc = new MessageChannel();
    this.registerStore(storeId, { control: control.port1, reply: reply.port1, rpc: rpc.port1 });
    const ports: StorePorts = { control: control.port2, reply: reply.port2, rpc: rpc.port2 };
    return {
      memory: this.#memory,
      heapId: this.id,
      storeId,
      ports,
      options: this.options,
      transferList: [ports.control, ports.reply, ports.rpc],
    };
  }

  /** @internal Hands the coordinator's ends of a store's ports to the coordinator. */
  registerStore(storeId: number, ports: StorePorts): void {
    const msg: HeapMessage = { t: 'attach', storeId, ports };
    this.#port.postMessage(msg, [ports.control, ports.reply, ports.rpc]);
  }

  /** @internal The heap's shared metadata (for pools). */
  get memory(): WebAssembly.Memory {
    return this.#memory;
  }

  /** @internal Registers something to close before the heap (pools). */
  addResource(r: HeapResource): void {
    this.#resources.add(r);
  }

  /** @internal */
  removeResource(r: HeapResource): void {
    this.#resources.delete(r);
  }

  /**
   * A piscina pool whose workers each attach a store to this heap. `options.filename` is the
   * worker file (`module.exports = defineTasks({...})` from `sharedref/worker`). Closed by
   * `heap.close()` if not before. `T`, the type of the worker file's tasks (`typeof tasks`, or
   * `typeof import('./tasks.js')`), types `pool.run`; it is asserted, as `filename` is not read here.
   */
  createPool<T = unknown>(options: PoolOptions): Pool<T> {
    this.#ensureOpen('createPool');
    const pool = new Pool<T>(this, options, entryFile('pool-worker'));
    this.addResource(pool);
    return pool;
  }

  /** Runs a collection on the coordinator: disposes and frees every object whose count reached 0. */
  gc(): Promise<GcReport> {
    try {
      this.#ensureOpen('gc');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.store.gc();
  }

  /**
   * Like `gc()`, but blocks this thread until the collection is done (for host functions called
   * from Wasm, which cannot await). Disposers that return promises are not awaited.
   */
  gcSync(): GcReport {
    this.#ensureOpen('gcSync');
    return this.store.gcSync();
  }

  /** A snapshot of the heap's counters, read from shared memory (no round trip). */
  stats(): HeapStats {
    noticeSubscribers();
    const c = readCounters(this.#i32, this.#layout);
    const free = Math.max(0, c.capacity - c.live);
    return {
      capacity: c.capacity,
      live: c.live,
      free,
      reserved: Math.max(0, free - c.freeList),
      created: c.created,
      disposed: c.disposed,
      collections: c.collections,
      stores: c.stores,
      pendingRelease: Math.max(0, this.#slots.pendingReleases()),
      wraps: c.wraps,
      abandoned: c.abandoned,
      leaseTimeouts: c.leaseTimeouts,
    };
  }

  /**
   * The pause of every collection so far (`stats().collections` of them, background slices
   * included), as a `perf_hooks`-style histogram in milliseconds: `count`, `min`, `max`, `mean`,
   * `stddev`, `percentiles`, `percentile(p)`. Read from shared memory (no round trip); works after
   * `close()` too.
   */
  pauseHistogram(): PauseHistogram {
    noticeSubscribers();
    return pauseHistogramOf(readPauseCounts(this.#i32, this.#layout));
  }

  #ensureOpen(what: string): void {
    noticeSubscribers();
    if (this.closed) throw new HeapClosedError(what);
  }

  /** A message on the heap port after start-up: a diagnostics event, or the reply to `shutdown`. */
  #onHeapEvent(event: HeapEvent): void {
    if (event.t === 'event') publishEvent(this.id, event.name, event.body);
    else if (event.t === 'closed') this.#onClosed?.();
  }

  /**
   * Closes the heap: at once, every later call on any thread and every heap call still pending
   * fails with `ERR_HEAP_CLOSED`; then its pools close (a running task that no longer touches the
   * heap may finish within `closeTimeout`, else it rejects with `ERR_HEAP_CLOSED`), every value left
   * is disposed exactly once (a factory or method still running first finishes, at most
   * `userCodeTimeoutMs`), and the coordinator stops. To let running tasks finish first,
   * `await pool.close()` before.
   * Idempotent: a second call returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    // From here every thread's next operation fails with ERR_HEAP_CLOSED, and so does everything
    // pending: this thread's calls now, other threads' waits as they wake, mutations and method
    // calls queued or running on the coordinator as soon as it reads `closing`. Pools close after
    // that, so their running tasks see the heap closed and end instead of running on (I8).
    closeHeapAndWakeAll(this.#i32, this.#layout);
    for (const store of this.#stores) coreOf(store).failPending(() => new HeapClosedError('the pending call'));
    if (!this.#coordinatorExited) this.#port.postMessage({ t: 'closing' } satisfies HeapMessage);
    for (const r of [...this.#resources]) await r.close().catch(() => undefined);
    if (!this.#coordinatorExited) {
      // Post queued values before the shutdown message, so the coordinator finds them queued.
      for (const store of this.#stores) coreOf(store).flushPosts();
      this.#port.ref();
      // The coordinator's thread is unreferenced; if it dies during the close (host code calling
      // process.exit in a disposer), its port closes and only its 'exit' event is left to wait for,
      // which must keep the process alive.
      this.#worker.ref();
      await new Promise<void>((resolve) => {
        const done = (): void => resolve();
        this.#onClosed = done;
        this.#worker.once('exit', done);
        this.#port.postMessage({ t: 'shutdown' } satisfies HeapMessage);
      });
    }
    closeHeapAndWakeAll(this.#i32, this.#layout);
    for (const store of [...this.#stores]) coreOf(store).closeNow();
    this.#port.close();
    this.#unwatch();
    await this.#worker.terminate();
  }

  #onCoordinatorExit(): void {
    this.#coordinatorExited = true;
    // A close under way waits for this exit itself. Otherwise the coordinator died (it may have
    // marked the heap closed on its way out, which is not enough: pending calls, pools).
    if (this.#closing !== null) return;
    // The coordinator died: close the heap so nothing waits for it forever (I8).
    closeHeapAndWakeAll(this.#i32, this.#layout);
    for (const store of [...this.#stores])
      coreOf(store).failPending(() => new HeapClosedError('the coordinator thread exited'));
    void this.close();
  }
}

/** The layout of a heap with these options. */
function layoutFor(o: ResolvedHeapOptions): Layout {
  return computeLayout(o.capacity, o.maxStores, o.rootsPerStore, o.transfers, o.generationBits);
}

/** Attaches a store on this thread from a link made by `heap.createStoreLink()` on another. */
export function attachStore<H = unknown>(link: StoreLink): Store<H> {
  return new Store(link);
}
