/**
 * Roots inside task arguments and results: replaced by transfer tokens for the trip, adopted as
 * roots on the other side (see shared/transfer-table.ts for how the count travels).
 *
 * Any thread. Roots are found at the top level and inside arrays and plain objects (up to
 * `MAX_DEPTH` levels); anything else travels by structured clone as usual. A raw handle is just
 * a number and travels as one.
 */
import { CrossStoreError, TransferLimitError, TransferLostError } from '../errors';
import type { TransferToken } from '../shared/transfer-table';
import { RootBase, ManuallyRooted } from '../store/roots';
import type { Store } from '../store/store';

const MARK = '__sharedrefTransfer';
const MAX_DEPTH = 8;

/** The wire form of one root. */
export interface WireRef {
  readonly [MARK]: 1;
  readonly token: TransferToken;
  readonly manual: boolean;
}

function isWireRef(x: unknown): x is WireRef {
  return typeof x === 'object' && x !== null && (x as Record<string, unknown>)[MARK] === 1;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Who owns the transfers a pack makes: by default the sending store, untagged. */
export interface TransferOwner {
  readonly storeId: number;
  readonly tag: number;
}

/**
 * A copy of `value` with every root replaced by a token that carries one new count. `sent`
 * receives every token made, so the caller can release those nobody adopts. `owner` names the
 * store whose death releases them (default: the root's own store).
 */
export function packRoots(
  value: unknown,
  heapId: number,
  sent: TransferToken[],
  owner?: TransferOwner,
  depth = 0,
): unknown {
  if (value instanceof RootBase) {
    const store = value._store;
    if (store.heapId !== heapId) throw new CrossStoreError('a root passed to a pool of another heap');
    value._check('transfer');
    store._hold(value);
    const token = store._transfers.send(owner?.storeId ?? store.id, value._index, value._handle, owner?.tag ?? 0);
    if (token === null) {
      throw new TransferLimitError(store._options.transfers);
    }
    sent.push(token);
    const wire: WireRef = { [MARK]: 1, token, manual: value instanceof ManuallyRooted };
    return wire;
  }
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => packRoots(v, heapId, sent, owner, depth + 1));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) out[k] = packRoots(value[k], heapId, sent, owner, depth + 1);
    return out;
  }
  return value;
}

/**
 * `value` with every token adopted as a root of `store` (scoped roots join the current scope).
 * With `allScoped`, manual roots arrive as scoped ones too (task arguments belong to the task's
 * scope). If any transfer was lost (its sender died first), the roots already adopted are
 * released and `ERR_TRANSFER_LOST` is thrown.
 */
export function unpackRoots(value: unknown, store: Store, allScoped = false): unknown {
  const adopted: RootBase[] = [];
  let lost = 0;
  const walk = (v: unknown, depth: number): unknown => {
    if (isWireRef(v)) {
      const root = store._adopt(v.token, v.manual && !allScoped);
      if (root === null) lost++;
      else adopted.push(root);
      return root;
    }
    if (depth >= MAX_DEPTH) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    if (isPlainObject(v)) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) out[k] = walk(v[k], depth + 1);
      return out;
    }
    return v;
  };
  const out = walk(value, 0);
  if (lost > 0) {
    for (const r of adopted) r._release();
    throw new TransferLostError(lost);
  }
  return out;
}

/** Failed-task tags a pool keeps sweeping (the oldest go first); far more than fail at once. */
const MAX_FAILED_TAGS = 1024;

/**
 * The tags of a pool's failed tasks, whose results are swept again later. The handshake in
 * shared/abandoned-tags.ts covers a worker that publishes results after the caller gave up, as
 * long as it lives to check the mark; a worker killed between publishing and checking leaves
 * them in flight, owned by the caller, and only a sweep after its death releases them. The pool
 * sweeps at every failure, whenever piscina reports a worker gone, and after its workers stop.
 * Caller's thread only.
 */
export class FailedTasks {
  readonly #tags = new Set<number>();

  /** Remembers a failed task's tag (forgetting the oldest beyond MAX_FAILED_TAGS). */
  add(tag: number): void {
    this.#tags.add(tag);
    if (this.#tags.size > MAX_FAILED_TAGS) this.#tags.delete(this.#tags.values().next().value!);
  }

  /** Releases every result of a remembered task still in flight to `store`; returns how many. */
  sweep(store: Store): number {
    if (this.#tags.size === 0) return 0;
    return store._transfers.releaseTaggedAny(store.id, (tag) => this.#tags.has(tag));
  }

  /** Forgets every tag (after the pool's workers stopped and a last sweep). */
  clear(): void {
    this.#tags.clear();
  }
}
