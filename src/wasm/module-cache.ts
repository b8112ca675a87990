/**
 * The thread's cache of compiled modules: bounded by a number of modules and a number of bytes,
 * least recently used out first.
 *
 * Any thread; each thread has its own cache (module state), so a pool worker's limits are set in
 * that worker (its task file calls `Module.cacheLimits`). `Module.fromText` keys an entry by its
 * text, `Module.fromBinary` by the binary's length and a hash of it (a bigint, so that no text can
 * collide with it); both kinds share the limits and one order of use. An entry counts the bytes
 * of the binary it keeps, plus its text for a `fromText` entry: what the cache itself holds. V8's
 * compiled code is not counted (it is not observable); the bound on the number of modules is what
 * bounds it.
 *
 * A `Map` keeps insertion order, so a hit moves its entry to the end (delete, then set again) and
 * eviction takes from the front: O(1) per operation. An entry bigger than the byte limit alone is
 * not kept. Evicting only forgets: a `Module` already handed out stays valid.
 *
 * Rejected: keeping the caches unbounded, as they were (a server compiling a stream of distinct
 * modules grew without end); a second cache of WAT binaries under the text cache (wat.ts had one:
 * it held the same binaries the text cache holds, so every text was kept twice); and limits per
 * heap (a cache belongs to a thread, and a thread may use several heaps, or none).
 */
import { checkInteger, describe } from '../options';

/** Limits of a thread's module cache (see `Module.cacheLimits`). */
export interface ModuleCacheLimits {
  /** Compiled modules kept at most. Default 256; 0 … 2^31 − 1 (0 turns the cache off). */
  readonly modules: number;
  /**
   * Bytes of binaries (and WAT texts) kept at most. Default 64 MiB (67108864); 0 … 2^53 − 1. A
   * module bigger than this on its own is compiled every time.
   */
  readonly bytes: number;
}

/** What a thread's module cache holds now (see `Module.cacheStats`). */
export interface ModuleCacheStats {
  /** Modules kept. */
  readonly modules: number;
  /** Bytes of binaries and texts kept. */
  readonly bytes: number;
  /** Lookups answered from the cache, since the thread started. */
  readonly hits: number;
  /** Lookups that compiled, since the thread started. */
  readonly misses: number;
  /** Entries dropped to stay within the limits, since the thread started. */
  readonly evictions: number;
}

/** The defaults, as documented on `ModuleCacheLimits`. */
export const defaultModuleCacheLimits: ModuleCacheLimits = Object.freeze({ modules: 256, bytes: 64 * 1024 * 1024 });

/** Validates a partial `ModuleCacheLimits`; omitted fields keep their value in `current`. */
export function resolveModuleCacheLimits(limits: unknown, current: ModuleCacheLimits): ModuleCacheLimits {
  if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) {
    throw new TypeError(`options must be an object, received ${describe(limits)}`);
  }
  const o = limits as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'modules' && key !== 'bytes')
      throw new TypeError(`options.${key} is not a module cache limit (known: modules, bytes)`);
  }
  return Object.freeze({
    modules: o.modules === undefined ? current.modules : checkInteger('modules', o.modules, 0, 2 ** 31 - 1),
    bytes: o.bytes === undefined ? current.bytes : checkInteger('bytes', o.bytes, 0, Number.MAX_SAFE_INTEGER),
  });
}

/**
 * The cache key of a binary: its length and a FNV-1a hash of its bytes. Cheap, and not unique:
 * a hit must compare the bytes in full. A bigint, so that it can never equal a text key.
 */
export function binaryKey(bytes: Uint8Array): bigint {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return (BigInt(bytes.length) << 32n) | BigInt(h >>> 0);
}

interface Entry<V> {
  readonly value: V;
  readonly size: number;
}

/** A cache bounded by entries and bytes, least recently used out first. */
export class LruCache<V> {
  readonly #map = new Map<string | bigint, Entry<V>>();
  #limits: ModuleCacheLimits;
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(limits: ModuleCacheLimits) {
    this.#limits = limits;
  }

  /** The limits in force. */
  get limits(): ModuleCacheLimits {
    return this.#limits;
  }

  /** Changes the limits, evicting at once what no longer fits. */
  set limits(limits: ModuleCacheLimits) {
    this.#limits = limits;
    this.#evict();
  }

  /**
   * The entry under `key` if `matches` accepts it (a key that only hashes what it stands for is
   * checked in full there), now the most recently used; counts a hit or a miss.
   */
  get(key: string | bigint, matches?: (value: V) => boolean): V | undefined {
    const e = this.#map.get(key);
    if (e === undefined || (matches !== undefined && !matches(e.value))) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#map.delete(key);
    this.#map.set(key, e);
    return e.value;
  }

  /** Keeps `value` under `key` (replacing what was there), `size` bytes; evicts to stay within the limits. */
  set(key: string | bigint, value: V, size: number): void {
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#map.delete(key);
      this.#bytes -= old.size;
    }
    if (size > this.#limits.bytes || this.#limits.modules === 0) return;
    this.#map.set(key, { value, size });
    this.#bytes += size;
    this.#evict();
  }

  /** Counts and totals. */
  stats(): ModuleCacheStats {
    return {
      modules: this.#map.size,
      bytes: this.#bytes,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
    };
  }

  #evict(): void {
    const { modules, bytes } = this.#limits;
    while (this.#map.size > modules || this.#bytes > bytes) {
      const [key, e] = this.#map.entries().next().value!;
      this.#map.delete(key);
      this.#bytes -= e.size;
      this.#evictions++;
    }
  }
}
