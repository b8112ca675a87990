/**
 * The host value table: the only place host values live (coordinator thread only).
 *
 * Values arrive three ways: posted by the store that created them with `ExternRef.new` (which
 * does not wait, so a read may arrive first and must wait here for the value), built in place by
 * a factory (`newWith`), or replaced by a committed `dataMut`. Disposal runs each value's
 * disposer once (I3), after the object's running turn if there is one (turns.ts), and waits for an
 * async disposer at most `userCodeTimeoutMs`: one that overstays is abandoned (counted), so no
 * collection and no close waits for ever (I8).
 */
import type { SlotIndex } from '../shared/handle';
import { HeapClosedError, InvalidHandleError } from '../errors';
import type { UserCode } from './user-code';

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
  /** Handles of the values in each slot (for messages: a handle, never a slot index). */
  readonly #handles: Uint32Array;
  readonly #waiters = new Map<SlotIndex, Waiter[]>();
  readonly #userCodeTimeoutMs: number;
  readonly #onAbandon: (code: UserCode) => void;
  #closed = false;
  /** Disposers that threw (reported by `close`). */
  disposeErrors = 0;

  /** `onAbandon` is told of each async disposer that did not settle within `userCodeTimeoutMs`. */
  constructor(capacity: number, userCodeTimeoutMs: number, onAbandon: (code: UserCode) => void) {
    this.#values = new Array<unknown>(capacity).fill(undefined);
    this.#state = new Uint8Array(capacity);
    this.#handles = new Uint32Array(capacity);
    this.#userCodeTimeoutMs = userCodeTimeoutMs;
    this.#onAbandon = onAbandon;
  }

  /** Stores the value of object `handle` (slot `index`) and wakes its waiters. */
  set(index: SlotIndex, handle: number, value: unknown, inPlace = false): void {
    this.#values[index] = value;
    this.#handles[index] = handle;
    this.#state[index] = inPlace ? IN_PLACE : PRESENT;
    const waiters = this.#waiters.get(index);
    if (waiters !== undefined) {
      this.#waiters.delete(index);
      for (const w of waiters) w.resolve();
    }
  }

  /** True when slot `index` has its value. */
  has(index: SlotIndex): boolean {
    return this.#state[index] === PRESENT || this.#state[index] === IN_PLACE;
  }

  /** True when slot `index` holds a value built in place (not data: use `call`). */
  isInPlace(index: SlotIndex): boolean {
    return this.#state[index] === IN_PLACE;
  }

  /** The value of slot `index` (call `has` or `whenPresent` first). */
  get(index: SlotIndex): unknown {
    return this.#values[index];
  }

  /** Resolves when slot `index` has its value (at once if it has). */
  whenPresent(index: SlotIndex, handle: number): Promise<void> | null {
    const s = this.#state[index];
    if (s === PRESENT || s === IN_PLACE) return null;
    if (s === LOST)
      return Promise.reject(
        new InvalidHandleError(handle, 'its creator died before the value reached the coordinator'),
      );
    if (this.#closed) return Promise.reject(new HeapClosedError('read'));
    this.#handles[index] = handle; // for the error its waiters get if the object is freed first
    return new Promise<void>((resolve, reject) => {
      const list = this.#waiters.get(index);
      if (list === undefined) this.#waiters.set(index, [{ resolve, reject }]);
      else list.push({ resolve, reject });
    });
  }

  /** The creator of slot `index` died before sending its value: fail its waiters. */
  markLost(index: SlotIndex, handle: number): void {
    if (this.has(index)) return;
    this.#state[index] = LOST;
    this.#handles[index] = handle;
    this.#failWaiters(
      index,
      () => new InvalidHandleError(handle, 'its creator died before the value reached the coordinator'),
    );
  }

  #failWaiters(index: SlotIndex, makeError: () => unknown): void {
    const waiters = this.#waiters.get(index);
    if (waiters === undefined) return;
    this.#waiters.delete(index);
    for (const w of waiters) w.reject(makeError());
  }

  /**
   * Disposes the value of slot `index` (if it ever arrived) and forgets it. `after` is the end of
   * the object's running turn, if one runs (a method still running; the disposer waits for it).
   * Returns a promise if the disposal has to wait (for that turn, or an async disposer), else null.
   */
  dispose(index: SlotIndex, after: Promise<void> | null): Promise<void> | null {
    // Runs for every slot a collection frees: the waiter map is looked at only when not empty.
    const present = this.has(index);
    const value = this.#values[index];
    const handle = this.#handles[index]!;
    this.#values[index] = undefined;
    this.#state[index] = ABSENT;
    if (this.#waiters.size > 0) this.#failWaiters(index, () => new InvalidHandleError(handle, 'the object was freed'));
    if (!present) return null;
    if (after !== null) return after.then(() => this.#runDisposer(value, handle) ?? undefined);
    return this.#runDisposer(value, handle);
  }

  /**
   * Disposes a value that never reached a slot, or lost it: built by a factory whose reservation
   * is gone (its store died, the heap closed, the call was abandoned). Touches no slot (I1, I3).
   */
  disposeDetached(value: unknown): Promise<void> | null {
    return this.#runDisposer(value, 0);
  }

  /** Runs the disposer of `value` (the object `handle`, 0 if it never reached a slot). */
  #runDisposer(value: unknown, handle: number): Promise<void> | null {
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return null;
    const v = value as { [Symbol.dispose]?: () => void; [Symbol.asyncDispose]?: () => Promise<void> };
    try {
      if (typeof v[Symbol.asyncDispose] === 'function') {
        const done = Promise.resolve(v[Symbol.asyncDispose]!()).then(undefined, () => {
          this.disposeErrors++;
        });
        return this.#bounded(done, value, handle);
      }
      if (typeof v[Symbol.dispose] === 'function') v[Symbol.dispose]!();
    } catch {
      this.disposeErrors++;
    }
    return null;
  }

  /** `done`, or the end of `userCodeTimeoutMs` (the disposer is then abandoned and counted). */
  #bounded(done: Promise<void>, value: unknown, handle: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const overstay = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#onAbandon({ kind: 'disposer', name: describeType(value), handle, storeId: 0 });
        resolve();
      }, this.#userCodeTimeoutMs);
    });
    return Promise.race([done, overstay]).finally(() => clearTimeout(timer));
  }

  /** Refuses new waits and fails every current one (heap closing, I8). */
  close(): void {
    this.#closed = true;
    for (const index of [...this.#waiters.keys()]) this.#failWaiters(index, () => new HeapClosedError('read'));
  }
}

/** The class name of `value`, for messages. */
function describeType(value: unknown): string {
  const name = (value as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name !== '' ? name : typeof value;
}
