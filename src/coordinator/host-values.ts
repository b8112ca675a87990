/**
 * The host value table: the only place host values live (coordinator thread only).
 *
 * Values arrive three ways: posted by the store that created them with `ExternRef.new` (which
 * does not wait, so a read may arrive first and must wait here for the value), built in place by
 * a factory (`newWith`), or replaced by a committed `dataMut`. Calls on one object run one at a
 * time (actor semantics) through a per-object promise chain, and disposal joins the end of that
 * chain, so a value is never disposed while one of its methods runs (I3).
 */
import { HeapClosedError, InvalidHandleError } from '../errors';

const ABSENT = 0;
const PRESENT = 1;
/** The creating store died before its value reached the coordinator. */
const LOST = 2;
/** Built in place by a factory: used through `call`, never copied out as data. */
const IN_PLACE = 3;

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** Values by slot index, with arrival waiters and call chains. */
export class HostValues {
  readonly #values: unknown[];
  readonly #state: Uint8Array;
  readonly #waiters = new Map<number, Waiter[]>();
  readonly #chains = new Map<number, Promise<unknown>>();
  #closed = false;
  /** Disposers that threw (reported by `close`). */
  disposeErrors = 0;

  constructor(capacity: number) {
    this.#values = new Array<unknown>(capacity).fill(undefined);
    this.#state = new Uint8Array(capacity);
  }

  /** Stores the value of slot `index` and wakes its waiters. */
  set(index: number, value: unknown, inPlace = false): void {
    this.#values[index] = value;
    this.#state[index] = inPlace ? IN_PLACE : PRESENT;
    const waiters = this.#waiters.get(index);
    if (waiters !== undefined) {
      this.#waiters.delete(index);
      for (const w of waiters) w.resolve();
    }
  }

  /** True when slot `index` has its value. */
  has(index: number): boolean {
    return this.#state[index] === PRESENT || this.#state[index] === IN_PLACE;
  }

  /** True when slot `index` holds a value built in place (not data: use `call`). */
  isInPlace(index: number): boolean {
    return this.#state[index] === IN_PLACE;
  }

  /** The value of slot `index` (call `has` or `whenPresent` first). */
  get(index: number): unknown {
    return this.#values[index];
  }

  /** Resolves when slot `index` has its value (at once if it has). */
  whenPresent(index: number, handle: number): Promise<void> | null {
    const s = this.#state[index];
    if (s === PRESENT || s === IN_PLACE) return null;
    if (s === LOST)
      return Promise.reject(
        new InvalidHandleError(handle, 'its creator died before the value reached the coordinator'),
      );
    if (this.#closed) return Promise.reject(new HeapClosedError('read'));
    return new Promise<void>((resolve, reject) => {
      const list = this.#waiters.get(index);
      if (list === undefined) this.#waiters.set(index, [{ resolve, reject }]);
      else list.push({ resolve, reject });
    });
  }

  /** The creator of slot `index` died before sending its value: fail its waiters. */
  markLost(index: number, handle: number): void {
    if (this.has(index)) return;
    this.#state[index] = LOST;
    this.#failWaiters(
      index,
      () => new InvalidHandleError(handle, 'its creator died before the value reached the coordinator'),
    );
  }

  #failWaiters(index: number, makeError: () => unknown): void {
    const waiters = this.#waiters.get(index);
    if (waiters === undefined) return;
    this.#waiters.delete(index);
    for (const w of waiters) w.reject(makeError());
  }

  /** Runs `fn` after every earlier call on slot `index` has finished (one at a time per object). */
  serialize<T>(index: number, fn: () => T | Promise<T>): Promise<T> {
    const prev = this.#chains.get(index);
    const run = prev === undefined ? Promise.resolve().then(fn) : prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#chains.set(index, tail);
    void tail.then(() => {
      if (this.#chains.get(index) === tail) this.#chains.delete(index);
    });
    return run;
  }

  /**
   * Disposes the value of slot `index` (if it ever arrived) and forgets it. Returns a promise if
   * the disposal has to wait for a running call or an async disposer, else null.
   */
  dispose(index: number): Promise<void> | null {
    // Runs for every slot a collection frees: the maps are looked at only when not empty.
    const present = this.has(index);
    const value = this.#values[index];
    this.#values[index] = undefined;
    this.#state[index] = ABSENT;
    if (this.#waiters.size > 0) this.#failWaiters(index, () => new InvalidHandleError(index, 'the object was freed'));
    if (!present) return null;
    const chain = this.#chains.size > 0 ? this.#chains.get(index) : undefined;
    if (chain !== undefined) {
      this.#chains.delete(index);
      return chain.then(() => this.#runDisposer(value) ?? undefined);
    }
    return this.#runDisposer(value);
  }

  #runDisposer(value: unknown): Promise<void> | null {
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return null;
    const v = value as { [Symbol.dispose]?: () => void; [Symbol.asyncDispose]?: () => Promise<void> };
    try {
      if (typeof v[Symbol.asyncDispose] === 'function') {
        return Promise.resolve(v[Symbol.asyncDispose]!()).then(undefined, () => {
          this.disposeErrors++;
        });
      }
      if (typeof v[Symbol.dispose] === 'function') v[Symbol.dispose]!();
    } catch {
      this.disposeErrors++;
    }
    return null;
  }

  /** Refuses new waits and fails every current one (heap closing, I8). */
  close(): void {
    this.#closed = true;
    for (const index of [...this.#waiters.keys()]) this.#failWaiters(index, () => new HeapClosedError('read'));
  }
}
