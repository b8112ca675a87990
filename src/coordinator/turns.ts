/**
 * Turns: every mutation of one object runs alone, in arrival order. A `dataMut` lease (from
 * `acquire` to its commit) and a method `call` are both turns in the object's queue, so a call can
 * never run inside a lease (whose commit would then overwrite the call's change: a lost update),
 * and a value is never disposed while a turn on it runs (I3).
 *
 * Coordinator thread only. Each object (by slot index) has one queue: the turn running now and
 * the turns waiting. A lease turn is granted at the head and ends at its commit or abandon, when
 * it times out (`leaseTimeoutMs`), when its store dies or closes, when its object is freed, or when
 * the heap closes; a commit after that fails with `ERR_LEASE_TIMEOUT`, so no update lands on top
 * of one its holder never saw. A call turn runs its method at the head and ends when the method
 * settles, or when `userCodeTimeoutMs` passes: the call is then abandoned (the caller gets
 * `ERR_CALL_TIMEOUT`, the method may still be running) and the next turn runs, so that one method
 * that never settles stops neither the object nor the heap (I8). A store's waiting turns die with
 * it (I4): a lease never passes to a store that is gone.
 *
 * Rejected: a lease table beside a promise chain for calls (the first design). The two had
 * independent orders, so a `call('push', x)` ran during an async `dataMut` and was lost at its
 * commit, and a dead store's queued lease request inherited its own broken lease.
 */
import type { SlotIndex } from '../shared/handle';
import { CallTimeoutError, HeapClosedError, LeaseTimeoutError } from '../errors';
import { type UserCode, describeUserCode } from './user-code';

/** One turn in an object's queue. */
interface Turn {
  readonly storeId: number;
  /** Runs the turn, now at the head of its queue; it calls `end` exactly once when it is over. */
  start(end: () => void): void;
  /** Fails a turn that has not started (its object was freed, its store is gone, the heap closed). */
  refuse(err: unknown): void;
  /** Fails a running turn's caller at once (the heap closed); the turn still ends by itself. */
  cut(err: unknown): void;
}

interface Queue {
  running: Turn | null;
  readonly waiting: Turn[];
  /** Resolved when the queue is empty (disposal waits for them). */
  readonly idle: (() => void)[];
}

/** A granted lease. */
interface Holder {
  readonly lease: number;
  readonly index: SlotIndex;
  readonly storeId: number;
  readonly end: () => void;
  timer: NodeJS.Timeout | null;
}

/** What `Turns` reports to the coordinator (counted in `stats()`, traced, and published as events). */
export interface TurnHooks {
  /** A method overstayed `userCodeTimeoutMs` and was abandoned. */
  abandoned(code: UserCode): void;
  /** The lease of `storeId` on slot `index` ended at `leaseTimeoutMs`, without a commit. */
  leaseTimedOut(index: SlotIndex, storeId: number): void;
}

/** The queues of one heap's objects. */
export class Turns {
  readonly #leaseTimeoutMs: number;
  readonly #userCodeTimeoutMs: number;
  readonly #hooks: TurnHooks;
  readonly #queues = new Map<SlotIndex, Queue>();
  readonly #holders = new Map<number, Holder>();
  #nextLease = 1;
  #closed = false;

  constructor(leaseTimeoutMs: number, userCodeTimeoutMs: number, hooks: TurnHooks) {
    this.#leaseTimeoutMs = leaseTimeoutMs;
    this.#userCodeTimeoutMs = userCodeTimeoutMs;
    this.#hooks = hooks;
  }

  /**
   * A lease on slot `index` for `storeId`, granted when every earlier turn is over: `prepare`
   * (run at the head; it may wait for the value to arrive, and throws if the object is gone)
   * answers what the grant carries. Resolves with the lease id and that answer.
   */
  acquire<T>(index: SlotIndex, storeId: number, prepare: () => T | Promise<T>): Promise<{ lease: number; grant: T }> {
    return new Promise((resolve, reject) => {
      let settled = false;
      this.#enqueue(index, {
        storeId,
        start: (end) => {
          void (async () => {
            let grant: T;
            try {
              grant = await prepare();
            } catch (err) {
              settled = true;
              reject(err);
              end();
              return;
            }
            if (settled || this.#closed) {
              if (!settled) reject(new HeapClosedError('dataMut'));
              end();
              return;
            }
            const holder: Holder = { lease: this.#nextLease++, index, storeId, end, timer: null };
            holder.timer = setTimeout(() => {
              if (this.#holders.get(holder.lease) !== holder) return;
              this.#endLease(holder);
              this.#hooks.leaseTimedOut(index, storeId);
            }, this.#leaseTimeoutMs);
            this.#holders.set(holder.lease, holder);
            settled = true;
            resolve({ lease: holder.lease, grant });
          })();
        },
        refuse: (err) => {
          settled = true;
          reject(err);
        },
        cut: (err) => {
          if (!settled) reject(err);
          settled = true;
        },
      });
    });
  }

  /**
   * Ends `lease` held by `storeId` (its commit or abandon) and returns its slot index; throws
   * `ERR_LEASE_TIMEOUT` if the lease already ended (timed out, broken, or not this store's).
   */
  take(lease: number, storeId: number): SlotIndex {
    const holder = this.#holders.get(lease);
    if (holder === undefined || holder.storeId !== storeId) {
      throw new LeaseTimeoutError(`lease ${lease} expired after ${this.#leaseTimeoutMs} ms or was broken`);
    }
    this.#endLease(holder);
    return holder.index;
  }

  /**
   * Runs `method` on slot `index` for `code.storeId` when every earlier turn is over (first
   * `prepare`, which may wait for the value and throws if the object is gone). Settles with the
   * method's result, or with `ERR_CALL_TIMEOUT` once `userCodeTimeoutMs` passes.
   */
  call<T>(
    index: SlotIndex,
    code: UserCode,
    prepare: () => void | Promise<void>,
    method: () => T | Promise<T>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (ok: boolean, v: unknown): void => {
        if (settled) return;
        settled = true;
        if (ok) resolve(v as T);
        else reject(v);
      };
      this.#enqueue(index, {
        storeId: code.storeId,
        start: (end) => {
          let timer: NodeJS.Timeout | null = null;
          let over = false;
          const finish = (): void => {
            if (over) return;
            over = true;
            if (timer !== null) clearTimeout(timer);
            end();
          };
          void (async () => {
            try {
              await prepare();
            } catch (err) {
              settle(false, err);
              finish();
              return;
            }
            if (settled) return finish(); // cut by the heap's close while it waited for its value
            timer = setTimeout(() => {
              this.#hooks.abandoned(code);
              settle(false, new CallTimeoutError(describeUserCode(code), this.#userCodeTimeoutMs));
              finish();
            }, this.#userCodeTimeoutMs);
            try {
              settle(true, await method());
            } catch (err) {
              settle(false, err);
            }
            finish();
          })();
        },
        refuse: (err) => settle(false, err),
        cut: (err) => settle(false, err),
      });
    });
  }

  /** Resolves when no turn runs or waits on slot `index` (at once: null). */
  whenIdle(index: SlotIndex): Promise<void> | null {
    const q = this.#queues.get(index);
    if (q === undefined) return null;
    return new Promise((resolve) => q.idle.push(resolve));
  }

  /**
   * Slot `index` is being freed: its waiting turns fail with `makeError()`, its lease (if one is
   * held) is broken. A running call keeps running; `whenIdle` says when it is over.
   */
  breakSlot(index: SlotIndex, makeError: () => unknown): void {
    if (this.#queues.size === 0) return; // collections call this for every slot they free
    const q = this.#queues.get(index);
    if (q === undefined) return;
    for (const t of q.waiting.splice(0)) t.refuse(makeError());
    for (const holder of this.#holders.values()) if (holder.index === index) this.#endLease(holder);
  }

  /** Store `storeId` is gone: its leases end and its waiting turns are dropped (I4). */
  breakStore(storeId: number, makeError: () => unknown): void {
    for (const q of this.#queues.values()) {
      for (let k = q.waiting.length - 1; k >= 0; k--) {
        if (q.waiting[k]!.storeId === storeId) q.waiting.splice(k, 1)[0]!.refuse(makeError());
      }
    }
    for (const holder of [...this.#holders.values()]) if (holder.storeId === storeId) this.#endLease(holder);
  }

  /**
   * The heap closes: waiting turns fail, running ones fail their callers now, leases end. Methods
   * still running end by themselves (or at their timeout); `whenIdle` still says when.
   */
  close(makeError: () => unknown): void {
    this.#closed = true;
    for (const holder of [...this.#holders.values()]) this.#endLease(holder);
    for (const q of this.#queues.values()) {
      for (const t of q.waiting.splice(0)) t.refuse(makeError());
      q.running?.cut(makeError());
    }
  }

  /** Slots with a turn running or waiting (for the debug checks). */
  get busy(): number {
    return this.#queues.size;
  }

  #enqueue(index: SlotIndex, turn: Turn): void {
    if (this.#closed) {
      turn.refuse(new HeapClosedError());
      return;
    }
    let q = this.#queues.get(index);
    if (q === undefined) {
      q = { running: null, waiting: [], idle: [] };
      this.#queues.set(index, q);
    }
    q.waiting.push(turn);
    if (q.running === null) this.#next(index, q);
  }

  /** Starts the next waiting turn of `q`, or retires the queue when none is left. */
  #next(index: SlotIndex, q: Queue): void {
    const turn = q.waiting.shift();
    if (turn === undefined) {
      q.running = null;
      this.#queues.delete(index);
      for (const resolve of q.idle.splice(0)) resolve();
      return;
    }
    q.running = turn;
    let ended = false;
    turn.start(() => {
      if (ended) return;
      ended = true;
      // After the turn's own reply was sent: the next turn starts in a later task, never inside it.
      queueMicrotask(() => this.#next(index, q));
    });
  }

  #endLease(holder: Holder): void {
    if (this.#holders.get(holder.lease) !== holder) return;
    if (holder.timer !== null) clearTimeout(holder.timer);
    this.#holders.delete(holder.lease);
    holder.end();
  }
}
