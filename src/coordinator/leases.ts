/**
 * `dataMut` leases: exclusive read-modify-write, one holder per object at a time.
 *
 * Coordinator thread only. A holder gets the value, computes on its own thread, and commits (or
 * abandons). Waiting holders queue per object in arrival order. A lease ends when committed,
 * abandoned, timed out (`leaseTimeoutMs`), when its holder's store dies or closes, or when the
 * heap closes; a commit after that fails with `ERR_LEASE_TIMEOUT`, so no update is applied on top
 * of one the holder never saw (no lost update), and nobody waits forever (I8).
 */
import { LeaseTimeoutError } from '../errors';

interface Holder {
  readonly lease: number;
  readonly index: number;
  readonly storeId: number;
  timer: NodeJS.Timeout | null;
}

interface Request {
  readonly storeId: number;
  resolve(lease: number): void;
  reject(err: unknown): void;
}

/** All leases of one heap. */
export class Leases {
  readonly #timeoutMs: number;
  readonly #byLease = new Map<number, Holder>();
  readonly #held = new Map<number, Holder>();
  readonly #queues = new Map<number, Request[]>();
  #next = 1;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Resolves with a lease id once `storeId` holds slot `index` exclusively. */
  acquire(index: number, storeId: number): Promise<number> {
    if (!this.#held.has(index)) return Promise.resolve(this.#grant(index, storeId));
    return new Promise<number>((resolve, reject) => {
      const q = this.#queues.get(index);
      const req = { storeId, resolve, reject };
      if (q === undefined) this.#queues.set(index, [req]);
      else q.push(req);
    });
  }

  #grant(index: number, storeId: number): number {
    const lease = this.#next++;
    const holder: Holder = { lease, index, storeId, timer: null };
    holder.timer = setTimeout(() => this.#end(holder), this.#timeoutMs);
    this.#byLease.set(lease, holder);
    this.#held.set(index, holder);
    return lease;
  }

  /** Ends `lease` held by `storeId` and returns its slot index; throws if the lease is gone. */
  take(lease: number, storeId: number): number {
    const holder = this.#byLease.get(lease);
    if (holder === undefined || holder.storeId !== storeId) {
      throw new LeaseTimeoutError(`lease ${lease} expired after ${this.#timeoutMs} ms or was broken`);
    }
    this.#end(holder);
    return holder.index;
  }

  #end(holder: Holder): void {
    if (this.#byLease.get(holder.lease) !== holder) return;
    if (holder.timer !== null) clearTimeout(holder.timer);
    this.#byLease.delete(holder.lease);
    this.#held.delete(holder.index);
    const q = this.#queues.get(holder.index);
    const next = q?.shift();
    if (q !== undefined && q.length === 0) this.#queues.delete(holder.index);
    if (next !== undefined) next.resolve(this.#grant(holder.index, next.storeId));
  }

  /** Breaks every lease `storeId` holds and drops its queued requests (its thread is gone). */
  breakStore(storeId: number): void {
    for (const holder of [...this.#byLease.values()]) if (holder.storeId === storeId) this.#end(holder);
    for (const [index, q] of this.#queues) {
      const kept = q.filter((r) => r.storeId !== storeId);
      if (kept.length === 0) this.#queues.delete(index);
      else this.#queues.set(index, kept);
    }
  }

  /**
   * Breaks the lease on a freed slot and fails its queued requests with `makeError(index)`.
   * Called for every slot a collection frees, so it allocates nothing when no lease is held.
   */
  breakSlot(index: number, makeError: (index: number) => unknown): void {
    if (this.#held.size === 0) return; // a queue exists only behind a holder
    const holder = this.#held.get(index);
    if (holder === undefined) return;
    const q = this.#queues.get(index);
    this.#queues.delete(index);
    this.#end(holder);
    if (q !== undefined) for (const r of q) r.reject(makeError(index));
  }

  /** Fails everything (heap closing). */
  close(makeError: () => unknown): void {
    for (const holder of [...this.#byLease.values()]) {
      if (holder.timer !== null) clearTimeout(holder.timer);
    }
    this.#byLease.clear();
    this.#held.clear();
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    for (const q of queues) for (const r of q) r.reject(makeError());
  }
}
