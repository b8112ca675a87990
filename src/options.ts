/**
 * Heap options: types, documented defaults, and validation up front.
 *
 * Runs on the thread that calls `Heap.create()`. Bad options fail there, synchronously inside the
 * returned promise, with a `TypeError` or `RangeError` that names the option and the value
 * received (piscina's habit), before any thread or shared memory exists.
 */
import { isAbsolute } from 'node:path';
import { indexBitsFor } from './shared/layout';

/** Options for `Heap.create()`. Every field is optional. */
export interface HeapOptions {
  /** Maximum number of live objects. Allocation past it fails with `GcHeapOutOfMemory`. Default 65536; 2 … 2^22. */
  capacity?: number;
  /** Absolute path (or `file:` URL) of a module whose exports are the factories `ExternRef.newWith` names. */
  hostModule?: string;
  /**
   * Bits of a handle's generation. Every time a slot is freed its generation moves on, and past
   * `2^generationBits − 1` it wraps back to 1: a stale handle is refused until its slot has been
   * reused that many times since its object was freed (the guarantee behind I1). Default: every
   * bit above the slot index (`32 − ceil(log2(capacity))`, 16 for the default capacity); 2 … that.
   * Narrow it to test wrap-around, or to keep handles small.
   */
  generationBits?: number;
  /** Maximum number of stores attached at once (threads using the heap). Default 64; 1 … 1024. */
  maxStores?: number;
  /** Roots one store can hold at once (scoped, manual and Wasm-held). Default 65536; 16 … 2^20. */
  rootsPerStore?: number;
  /**
   * Slots a store reserves at a time for `ExternRef.new` without a round trip (never more than half the free slots).
   * Default 1024; 1 … 4096.
   */
  batchSize?: number;
  /** In-flight transfers of references between threads at once. Default 4096; 16 … 2^20. */
  transfers?: number;
  /**
   * A `dataMut` holder that does not commit within this many ms loses its lease (`ERR_LEASE_TIMEOUT`). Default 10000.
   */
  leaseTimeoutMs?: number;
  /**
   * The longest the coordinator waits for user code it runs: a method (`call`), a factory
   * (`newWith`), an async disposer. Code that overstays is abandoned: the caller gets
   * `ERR_CALL_TIMEOUT` (a disposer's collection just goes on), the object's next call runs,
   * `stats().abandoned` counts it, and `NODE_DEBUG=sharedref` traces it. It also bounds
   * `heap.close()` and `heap.gc()`, which otherwise wait for such code. Default 30000; 1 … 2^31 − 1.
   */
  userCodeTimeoutMs?: number;
  /**
   * Entries in a store's local read cache (two-way set-associative by slot index). Default 1024; 0
   * disables the cache. Larger is not free: every cached copy lives until it is evicted, so V8
   * promotes it to the old generation; with 4096, `ExternRef.new` of a small object cost about
   * 30% more (docs/performance.md).
   */
  cacheSize?: number;
  /**
   * Collect automatically every this many ms. With 0 (the default, as in Wasmtime: collection
   * is the embedder's choice) the coordinator collects only when `heap.gc()` or `store.gc()` is
   * called, when a store's batch request finds too few free slots, and in the background while
   * less than a quarter of the heap is free (allocation pressure).
   */
  autoCollectMs?: number;
  /**
   * Debug mode: poison freed slots, check invariants after every collection, collect on every
   * batch request. Default: on when the environment variable `SHAREDREF_DEBUG` is `1`.
   */
  debug?: boolean;
}

/** Options after defaults are applied; every field present. */
export interface ResolvedHeapOptions {
  /** See {@link HeapOptions.capacity}. */
  readonly capacity: number;
  /** See {@link HeapOptions.hostModule}; `null` when none was given. */
  readonly hostModule: string | null;
  /** See {@link HeapOptions.generationBits} (resolved against `capacity`). */
  readonly generationBits: number;
  /** See {@link HeapOptions.maxStores}. */
  readonly maxStores: number;
  /** See {@link HeapOptions.rootsPerStore}. */
  readonly rootsPerStore: number;
  /** See {@link HeapOptions.batchSize}. */
  readonly batchSize: number;
  /** See {@link HeapOptions.transfers}. */
  readonly transfers: number;
  /** See {@link HeapOptions.leaseTimeoutMs}. */
  readonly leaseTimeoutMs: number;
  /** See {@link HeapOptions.userCodeTimeoutMs}. */
  readonly userCodeTimeoutMs: number;
  /** See {@link HeapOptions.cacheSize}. */
  readonly cacheSize: number;
  /** See {@link HeapOptions.autoCollectMs}. */
  readonly autoCollectMs: number;
  /** See {@link HeapOptions.debug}. */
  readonly debug: boolean;
}

/** The defaults, as documented on `HeapOptions`. */
export const defaultHeapOptions: ResolvedHeapOptions = Object.freeze({
  capacity: 65536,
  generationBits: 16,
  hostModule: null,
  maxStores: 64,
  rootsPerStore: 65536,
  batchSize: 1024,
  transfers: 4096,
  leaseTimeoutMs: 10_000,
  userCodeTimeoutMs: 30_000,
  cacheSize: 1024,
  autoCollectMs: 0,
  debug: process.env.SHAREDREF_DEBUG === '1',
});

/** Throws `TypeError` unless `value` is an integer; `RangeError` unless it lies in [min, max]. */
export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`options.${name} must be an integer, received ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`options.${name} must be between ${min} and ${max}, received ${value}`);
  }
  return value;
}

/** A short, safe description of a received value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : `an object (${value.constructor?.name ?? 'null prototype'})`;
}

/** Validates `HeapOptions` and fills in defaults. */
export function resolveHeapOptions(options: unknown): ResolvedHeapOptions {
  if (options === undefined) return defaultHeapOptions;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`options must be an object, received ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  const known = new Set(Object.keys(defaultHeapOptions));
  for (const key of Object.keys(o)) {
    if (!known.has(key)) throw new TypeError(`options.${key} is not a heap option (known: ${[...known].join(', ')})`);
  }
  const d = defaultHeapOptions;
  const pick = (name: keyof ResolvedHeapOptions, min: number, max: number): number =>
    o[name] === undefined ? (d[name] as number) : checkInteger(name, o[name], min, max);
  let hostModule: string | null = d.hostModule;
  if (o.hostModule !== undefined) {
    if (typeof o.hostModule !== 'string' || o.hostModule.length === 0) {
      throw new TypeError(`options.hostModule must be a non-empty path string, received ${describe(o.hostModule)}`);
    }
    if (!isAbsolute(o.hostModule) && !o.hostModule.startsWith('file:')) {
      throw new TypeError(
        `options.hostModule must be an absolute path or file: URL, received ${describe(o.hostModule)}`,
      );
    }
    hostModule = o.hostModule;
  }
  if (o.debug !== undefined && typeof o.debug !== 'boolean') {
    throw new TypeError(`options.debug must be a boolean, received ${describe(o.debug)}`);
  }
  const capacity = pick('capacity', 2, 1 << 22);
  const widest = 32 - indexBitsFor(capacity); // every bit above the slot index
  return Object.freeze({
    capacity,
    generationBits:
      o.generationBits === undefined ? widest : checkInteger('generationBits', o.generationBits, 2, widest),
    hostModule,
    maxStores: pick('maxStores', 1, 1024),
    rootsPerStore: pick('rootsPerStore', 16, 1 << 20),
    batchSize: pick('batchSize', 1, 4096),
    transfers: pick('transfers', 16, 1 << 20),
    leaseTimeoutMs: pick('leaseTimeoutMs', 1, 2 ** 31 - 1),
    userCodeTimeoutMs: pick('userCodeTimeoutMs', 1, 2 ** 31 - 1),
    cacheSize: pick('cacheSize', 0, 1 << 24),
    autoCollectMs: pick('autoCollectMs', 0, 2 ** 31 - 1),
    debug: o.debug === undefined ? d.debug : (o.debug as boolean),
  });
}
