/**
 * A store's cache of values it created or has read, revalidated with one atomic load.
 *
 * One thread (the store's). Two-way set-associative: the value of slot `index` lives in one of
 * the two ways of set `index % sets`, tagged with its full raw handle and the slot's version. An
 * entry is valid while the slot's version word still equals the version it was read at: the
 * coordinator adds 1 after every committed `dataMut` and every `call`, and freeing or recycling
 * the slot adds 1, so an entry never answers for another slot of its set, nor for a later object
 * of its slot — not even once generations wrap and the same handle names that later object (I1).
 * A new entry replaces the way that was not used last, so a value read on every call (the
 * host-string workload's `a` and `b` inside a loop that creates a value per call) is not evicted
 * by the stream of new values passing through its set.
 *
 * Rejected: an insertion-ordered `Map` with oldest-first eviction (the first design). It cost
 * a map delete, a map insert, an entry object and an iterator per `ExternRef.new`, and handles
 * above 2^30 are heap numbers as map keys: 14% of the host-string workload's time went there. Also
 * rejected: direct-mapped (one way), which evicted the loop's hot inputs every `size` new values
 * and sent each of their next reads to the coordinator.
 *
 * Values handed out from the cache are shared by every reader on this thread: treat them as
 * read-only and change an object with `dataMut` (Wasmtime's `ExternRef::data` is likewise `&dyn Any`).
 */

/** What `get` returns when the cache has no current value (a cached value may be `undefined`). */
export const MISS: unique symbol = Symbol('sharedref.cacheMiss');

/** Bounded two-way set-associative cache of versioned values. */
export class ValueCache {
  /** Sets of two ways; 0 when the cache is disabled. */
  readonly #sets: number;
  /** Raw handle cached in each way (0: empty; no handle is 0). Way `w` of set `s` is at `2s + w`. */
  readonly #handles: Uint32Array;
  readonly #versions: Int32Array;
  readonly #values: unknown[];
  /** Per set: the way used last (the other one is replaced next). */
  readonly #mru: Uint8Array;

  /** A cache of `size` entries, rounded up to an even number (0 disables it). */
  constructor(size: number) {
    this.#sets = Math.ceil(size / 2);
    this.#handles = new Uint32Array(2 * this.#sets);
    this.#versions = new Int32Array(2 * this.#sets);
    this.#values = new Array<unknown>(2 * this.#sets).fill(undefined);
    this.#mru = new Uint8Array(this.#sets);
  }

  /** The value of `handle` (slot `index`) if it is cached at `version`, else MISS. */
  get(handle: number, index: number, version: number): unknown {
    if (this.#sets === 0) return MISS;
    const set = index % this.#sets;
    let at = 2 * set;
    if (this.#handles[at] !== handle) {
      at++;
      if (this.#handles[at] !== handle) return MISS;
    }
    if (this.#versions[at] !== version) return MISS;
    this.#mru[set] = at & 1;
    return this.#values[at];
  }

  /** Remembers `value` of `handle` (slot `index`) at `version`, in its own way or the one not used last. */
  set(handle: number, index: number, value: unknown, version: number): void {
    if (this.#sets === 0) return;
    const set = index % this.#sets;
    let at = 2 * set;
    if (this.#handles[at] !== handle) at = this.#handles[at + 1] === handle ? at + 1 : at + (this.#mru[set]! ^ 1);
    this.#handles[at] = handle;
    this.#versions[at] = version;
    this.#values[at] = value;
    this.#mru[set] = at & 1;
  }

  /** Forgets everything. */
  clear(): void {
    this.#handles.fill(0);
    this.#values.fill(undefined);
  }
}
