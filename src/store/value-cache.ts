/**
 * A store's cache of values it created or has read, revalidated with one atomic load.
 *
 * One thread (the store's). Keyed by the full raw handle, so an entry can never answer for a
 * later object in the same slot (the generation differs, I1). An entry is valid while the slot's
 * version word still equals the version it was read at; the coordinator bumps the version after
 * every committed `dataMut` and every `call`. Bounded by `cacheSize` entries, oldest first out.
 *
 * Values handed out from the cache are shared by every reader on this thread: treat them as
 * read-only and change an object with `dataMut` (the seed's `data` is likewise `&dyn Any`).
 */
export interface CacheEntry {
  readonly value: unknown;
  readonly version: number;
}

/** Bounded insertion-ordered cache of versioned values. */
export class ValueCache {
  readonly #max: number;
  readonly #map = new Map<number, CacheEntry>();

  constructor(max: number) {
    this.#max = max;
  }

  /** The entry for `handle`, if any (caller compares its version). */
  get(handle: number): CacheEntry | undefined {
    return this.#map.get(handle);
  }

  /** Remembers `value` at `version`; evicts the oldest entry when full. */
  set(handle: number, value: unknown, version: number): void {
    if (this.#max === 0) return;
    this.#map.delete(handle);
    this.#map.set(handle, { value, version });
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
  }

  /** Forgets `handle`. */
  delete(handle: number): void {
    this.#map.delete(handle);
  }

  /** Entries held. */
  get size(): number {
    return this.#map.size;
  }

  /** Forgets everything. */
  clear(): void {
    this.#map.clear();
  }
}
