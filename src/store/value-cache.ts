/**
 * A store's cache of values it created or has read, revalidated with one atomic load.
 *
 * One thread (the store's). Direct-mapped: the value of slot `index` lives at position
 * `index % size`, tagged with its full raw handle, so an entry can never answer for a later
 * object in the same slot (the generation differs, I1) nor for another slot at the same
 * position. An entry is valid while the slot's version word still equals the version it was
 * read at; the coordinator bumps the version after every committed `dataMut` and every `call`.
 * A new entry evicts whatever held its position. A store's new values come from a batch of
 * consecutive slots, so the most recent `size` of them rarely collide.
 *
 * Rejected: an insertion-ordered `Map` with oldest-first eviction (the first design). It cost
 * a map delete, a map insert, an entry object and an iterator per `ExternRef.new`, and handles
 * above 2^30 are heap numbers as map keys: 14% of the seed workload's time went there.
 *
 * Values handed out from the cache are shared by every reader on this thread: treat them as
 * read-only and change an object with `dataMut` (the seed's `data` is likewise `&dyn Any`).
 */

/** What `get` returns when the cache has no current value (a cached value may be `undefined`). */
export const MISS: unique symbol = Symbol('sharedref.cacheMiss');

/** Bounded direct-mapped cache of versioned values. */
export class ValueCache {
  readonly #size: number;
  /** Raw handle cached at each position (0: empty; no handle is 0). */
  readonly #handles: Uint32Array;
  readonly #versions: Int32Array;
  readonly #values: unknown[];

  /** A cache of `size` entries (0 disables it). */
  constructor(size: number) {
    this.#size = size;
    this.#handles = new Uint32Array(size);
    this.#versions = new Int32Array(size);
    this.#values = new Array<unknown>(size).fill(undefined);
  }

  /** The value of `handle` (slot `index`) if it is cached at `version`, else MISS. */
  get(handle: number, index: number, version: number): unknown {
    if (this.#size === 0) return MISS;
    const at = index % this.#size;
    if (this.#handles[at] !== handle || this.#versions[at] !== version) return MISS;
    return this.#values[at];
  }

  /** Remembers `value` of `handle` (slot `index`) at `version`, evicting what held its position. */
  set(handle: number, index: number, value: unknown, version: number): void {
    if (this.#size === 0) return;
    const at = index % this.#size;
    this.#handles[at] = handle;
    this.#versions[at] = version;
    this.#values[at] = value;
  }

  /** Forgets everything. */
  clear(): void {
    this.#handles.fill(0);
    this.#values.fill(undefined);
  }
}
