/**
 * Roots inside task arguments and results: taken out of the data for the trip, and put back as
 * roots on the other side (see shared/transfer-table.ts for how each count travels).
 *
 * Any thread. A message carries the data with every root replaced by a placeholder, and beside
 * it, out of band, the list of references: for each, where it sits (a path of steps from the top
 * of the value) and its transfer token. Only the library writes that list, from real roots, so
 * plain data can never pass for a reference: an object shaped like a token, an own `__proto__`
 * key, a value named like a marker all arrive as the same plain data.
 *
 * Roots are found anywhere a structured clone reaches them: arrays, plain objects, Maps (keys and
 * values) and Sets, at any depth, with shared sub-objects and cycles kept as shared and cyclic as
 * a structured clone keeps them. The walk visits each object once (time linear in the value's
 * size, no recursion, so no depth limit) and copies only when the value holds a root. A root
 * anywhere below any other object (a class instance, an Error, its `cause` included) would reach
 * the other side as a plain object with internal fields, so it is refused with an error naming
 * where; so is a function, a symbol or a Proxy anywhere (`ERR_NOT_CLONEABLE`, with its path). The
 * walk reads what a clone reads: an array's non-index properties, getters (a value a getter
 * supplies is copied once and the copy is sent). A raw handle is just a number.
 *
 * Rejected: markers inside the data (`{ __sharedrefTransfer: 1, token }`, the first design). Plain
 * data shaped like a marker was adopted as a reference: a task could take a count that was in
 * flight to another task. Also rejected: a walk that copied sub-objects as trees up to a depth
 * limit; shared sub-objects made it exponential, and roots below the limit crossed as plain
 * objects.
 */
import { types } from 'node:util';
import { CrossStoreError, NotCloneableError, TransferLostError } from '../errors';
import { checkDepth } from '../shared/depth';
import type { TransferToken } from '../shared/transfer-table';
import { type StoreCore, rootCore } from '../store/internal';
import { ManuallyRooted, RootBase } from '../store/roots';

/**
 * One step of a path: a property name (plain objects), an index (arrays), or the `i`-th entry of
 * a Map (`{ k: i }` its key, `{ v: i }` its value) or of a Set (`{ s: i }`).
 */
export type PathStep = string | number | { readonly k: number } | { readonly v: number } | { readonly s: number };

/**
 * One reference beside the data: where it goes, and either the count that travels with its kind,
 * or (`same`) the index of an earlier reference to the same root, which the receiver puts here
 * too: one root, one count, as a structured clone keeps one object shared.
 */
export type WireRef =
  | { readonly path: readonly PathStep[]; readonly token: TransferToken; readonly manual: boolean }
  | { readonly path: readonly PathStep[]; readonly same: number };

/** Data with its references taken out. */
export interface Packed {
  readonly value: unknown;
  readonly refs: readonly WireRef[];
}

/** Who owns the transfers a pack makes: by default the sending store, untagged. */
export interface TransferOwner {
  readonly storeId: number;
  readonly tag: number;
}

/** A path as the walks build it: each node points at its parent, so a step costs O(1). */
interface PathNode {
  readonly parent: PathNode | null;
  readonly step: PathStep;
}

function pathOf(node: PathNode | null): PathStep[] {
  const out: PathStep[] = [];
  for (let n = node; n !== null; n = n.parent) out.push(n.step);
  return out.reverse();
}

const MAX_PATH_SHOWN = 12;

function showPath(path: readonly PathStep[]): string {
  if (path.length === 0) return 'the value itself';
  const shown = path.slice(0, MAX_PATH_SHOWN).map((p) => {
    if (typeof p === 'number') return `[${p}]`;
    if (typeof p === 'string') return /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`;
    if ('k' in p) return `<map key ${p.k}>`;
    if ('v' in p) return `<map value ${p.v}>`;
    return `<set item ${p.s}>`;
  });
  return `value${shown.join('')}${path.length > MAX_PATH_SHOWN ? '…' : ''}`;
}

function isPlainObject(x: object): boolean {
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Objects a structured clone copies without our looking inside (they cannot hold roots). */
function isOpaque(x: object): boolean {
  return (
    ArrayBuffer.isView(x) ||
    x instanceof ArrayBuffer ||
    x instanceof SharedArrayBuffer ||
    x instanceof Date ||
    x instanceof RegExp ||
    x instanceof WebAssembly.Module ||
    x instanceof WebAssembly.Memory ||
    (typeof Blob !== 'undefined' && x instanceof Blob)
  );
}

/** True if `k` names an array element (a canonical index below 2^32 − 1). */
function isArrayIndex(k: string): boolean {
  const i = Number(k) >>> 0;
  return i !== 0xffffffff && String(i) === k;
}

/**
 * The own enumerable property `k` of `x` as a structured clone reads it: a getter's result for an
 * accessor, and an own `__proto__` key as data (never the prototype).
 */
function ownValue(x: object, k: string): unknown {
  const d = Object.getOwnPropertyDescriptor(x, k);
  if (d === undefined) return undefined;
  if (d.get === undefined) return d.value;
  gettersMet = true;
  return d.get.call(x) as unknown;
}

/** Set by `ownValue` when it calls a getter (read by `scan`). */
let gettersMet = false;

/**
 * The children of `x`, with the step that reaches each: what a structured clone copies, so that
 * no root can ride along unseen. For an array, its elements (holes skipped) and then its other
 * own enumerable properties (`a.extra = root`); for a plain object, its own enumerable
 * properties, accessors read through their getters.
 */
function* childrenOf(x: object): Generator<[PathStep, unknown]> {
  if (Array.isArray(x)) {
    let present = 0;
    for (let i = 0; i < x.length; i++) {
      if (!(i in x)) continue;
      present++;
      yield [i, x[i]];
    }
    const keys = Object.keys(x);
    if (keys.length > present) for (const k of keys) if (!isArrayIndex(k)) yield [k, ownValue(x, k)];
  } else if (x instanceof Map) {
    let i = 0;
    for (const [k, v] of x) {
      yield [{ k: i }, k];
      yield [{ v: i }, v];
      i++;
    }
  } else if (x instanceof Set) {
    let i = 0;
    for (const v of x) yield [{ s: i++ }, v];
  } else {
    for (const k of Object.keys(x)) yield [k, ownValue(x, k)];
    // A clone keeps an Error's `cause`, an own property that is not enumerable.
    if (x instanceof Error && Object.hasOwn(x, 'cause') && !Object.keys(x).includes('cause')) yield ['cause', x.cause];
  }
}

/** What `scan` found in a value. */
const HOLDS_ROOTS = 1;
const HOLDS_GETTERS = 2;

/**
 * Scans `value` once: whether it holds a root, and whether an own getter supplies any of it (a
 * clone calls it again, and may get something else). Throws `ERR_NOT_CLONEABLE` (with the path)
 * for a function, a symbol or a Proxy, and for a root anywhere below an object a structured clone
 * would flatten (a class instance, an Error and its `cause`).
 */
function scan(value: unknown, what: string): number {
  const seen = new Set<object>();
  const stack: { x: unknown; path: PathNode | null; under: string | null }[] = [{ x: value, path: null, under: null }];
  let found = 0;
  while (stack.length > 0) {
    const { x, path, under } = stack.pop()!;
    const t = typeof x;
    if (t === 'function' || t === 'symbol') {
      throw new NotCloneableError(`${what} at ${showPath(pathOf(path))}`, new TypeError(`a ${t} cannot be cloned`));
    }
    if (t !== 'object' || x === null) continue;
    const o = x as object;
    if (o instanceof RootBase) {
      // Not marked seen: the same root met again below a class instance must still be refused.
      if (under !== null) {
        throw new NotCloneableError(
          `${what} at ${showPath(pathOf(path))}`,
          new TypeError(
            `a root inside ${/^[AEIOU]/.test(under) ? 'an' : 'a'} ${under} would arrive as a plain object; put it in an array, plain object, Map or Set`,
          ),
        );
      }
      found |= HOLDS_ROOTS;
      continue;
    }
    if (seen.has(o)) continue;
    seen.add(o);
    if (types.isProxy(o)) {
      throw new NotCloneableError(`${what} at ${showPath(pathOf(path))}`, new TypeError('a Proxy cannot be cloned'));
    }
    if (isOpaque(o)) continue;
    const container = Array.isArray(o) || o instanceof Map || o instanceof Set || isPlainObject(o);
    const below = container ? under : ((o as { constructor?: { name?: string } }).constructor?.name ?? 'object');
    gettersMet = false;
    for (const [step, child] of childrenOf(o)) stack.push({ x: child, path: { parent: path, step }, under: below });
    if (gettersMet) found |= HOLDS_GETTERS;
  }
  return found;
}

function isRoot(x: object): boolean {
  return x instanceof RootBase;
}

/** @internal
 * `value` with every root taken out, and the references beside it, each root carrying one new
 * count (the sender's roots stay as they are). `sent` receives every token made, so the caller
 * can release those nobody adopts. `owner` names the store whose death releases them (default:
 * the root's own store). Roots of another heap are refused (`ERR_CROSS_STORE`), and so is
 * anything a structured clone cannot carry (`ERR_NOT_CLONEABLE`, naming where), including data
 * nested deeper than shared/depth.ts allows (`level`: the depth of `value` itself, 0 for a list
 * of arguments); nothing is sent then. A value that holds a root, or that a getter supplies, is
 * copied, and the copy is what is checked and sent.
 */
export function packRoots(
  value: unknown,
  heapId: number,
  sent: TransferToken[],
  what: string,
  owner?: TransferOwner,
  level = 1,
): Packed {
  if (scan(value, what) === 0) {
    checkDepth(value, what, isRoot, level);
    return { value, refs: [] };
  }
  const refs: WireRef[] = [];
  const first = sent.length;
  let table: StoreCore | null = null;
  try {
    const copies = new Map<object, unknown>();
    const sentRoots = new Map<RootBase, number>();
    const send = (root: RootBase, path: PathNode | null): void => {
      const earlier = sentRoots.get(root);
      if (earlier !== undefined) {
        refs.push({ path: pathOf(path), same: earlier });
        return;
      }
      const core = rootCore(root);
      if (core.heapId !== heapId) throw new CrossStoreError(what, 'a root of another heap');
      const token = core.sendTransfer(root, what, owner);
      table = core;
      sent.push(token);
      sentRoots.set(root, refs.length);
      refs.push({ path: pathOf(path), token, manual: root instanceof ManuallyRooted });
    };
    // The copy of `x` (found at `path`): a placeholder for a root, the same object for anything
    // else that is not a container, and for a container a new one, filled later from `pending`.
    const pending: { from: object; to: object; path: PathNode | null }[] = [];
    const copyOf = (x: unknown, path: PathNode | null, unique: boolean): unknown => {
      if (typeof x !== 'object' || x === null) return x;
      if (x instanceof RootBase) {
        send(x, path);
        return unique ? {} : null; // a Map key or Set item must stay distinct from its neighbours
      }
      const known = copies.get(x);
      if (known !== undefined) return known;
      let to: object;
      if (Array.isArray(x))
        to = []; // filled in order, so a dense array stays packed (see below)
      else if (x instanceof Map) to = new Map();
      else if (x instanceof Set) to = new Set();
      else if (isPlainObject(x)) to = {};
      else return x;
      copies.set(x, to);
      pending.push({ from: x, to, path });
      return to;
    };
    const top = copyOf(value, null, false);
    while (pending.length > 0) {
      const { from, to, path } = pending.pop()!;
      if (from instanceof Map) {
        let i = 0;
        for (const [k, v] of from) {
          const key = copyOf(k, { parent: path, step: { k: i } }, true);
          (to as Map<unknown, unknown>).set(key, copyOf(v, { parent: path, step: { v: i } }, false));
          i++;
        }
      } else if (from instanceof Set) {
        let i = 0;
        for (const v of from) (to as Set<unknown>).add(copyOf(v, { parent: path, step: { s: i++ } }, true));
      } else {
        for (const [step, child] of childrenOf(from)) {
          const copy = copyOf(child, { parent: path, step }, false);
          // An element by assignment, in ascending order: the copy of a dense array stays packed,
          // which the clone serializes with less stack per level than a holey one (a root 1 923
          // arrays deep overflowed it where plain data of that depth did not).
          if (typeof step === 'number') (to as unknown[])[step] = copy;
          // defineProperty: an own `__proto__` key stays an own key, as a structured clone keeps it.
          else
            Object.defineProperty(to, step as string, {
              value: copy,
              enumerable: true,
              writable: true,
              configurable: true,
            });
        }
        if (Array.isArray(from)) (to as unknown[]).length = from.length; // trailing holes
      }
    }
    checkDepth(top, what, isRoot, level);
    return { value: top, refs };
  } catch (err) {
    // Nothing half-sent: what this pack parked is given back before the error goes up.
    const parked = sent.splice(first);
    for (const token of parked) (table as StoreCore | null)?.releaseTransfer(token);
    throw err;
  }
}

/** The child of `x` at `step` (own data only: an own `__proto__` key is data, not the prototype). */
function childAt(x: unknown, step: PathStep, entries: WeakMap<object, unknown[]>): unknown {
  if (typeof step === 'number') return (x as unknown[])[step];
  if (typeof step === 'string') return ownValue(x as object, step);
  const c = x as Map<unknown, unknown> | Set<unknown>;
  let list = entries.get(c);
  if (list === undefined) entries.set(c, (list = [...c]));
  if ('s' in step) return list[step.s];
  const entry = list['k' in step ? step.k : step.v] as [unknown, unknown];
  return 'k' in step ? entry[0] : entry[1];
}

/** @internal
 * `packed` with every reference adopted as a root of `store` (scoped roots join the current
 * scope) and put back where it was. With `allScoped`, manual roots arrive as scoped ones too (task
 * arguments belong to the task's scope). If any reference cannot be adopted (its transfer was
 * lost, the store's roots are full), every root adopted so far and every transfer not adopted yet
 * is released, and the error is thrown: nothing stays in flight.
 */
export function unpackRoots(packed: Packed, store: StoreCore, allScoped = false): unknown {
  const { refs } = packed;
  if (refs.length === 0) return packed.value;
  const roots: (RootBase | null)[] = [];
  const adopted: RootBase[] = [];
  let lost = 0;
  try {
    for (const ref of refs) {
      if ('same' in ref) {
        roots.push(roots[ref.same] ?? null);
        continue;
      }
      const root = store.adopt(ref.token, ref.manual && !allScoped ? 'manual' : 'scoped');
      roots.push(root);
      if (root === null) lost++;
      else adopted.push(root);
    }
    if (lost > 0)
      throw new TransferLostError(lost, 'the sending thread died, its store closed, or the task was given up');
  } catch (err) {
    for (const r of adopted) store.releaseRoot(r);
    releasePacked(packed, store); // the ones not adopted; the adopted ones refuse a second release
    throw err;
  }
  let top = packed.value;
  const entries = new WeakMap<object, unknown[]>();
  // Keys of Maps and items of Sets change identity, so each such container is rebuilt once, after
  // every other placement (paths through it use positions, which a rebuild keeps).
  const rebuild = new Map<Map<unknown, unknown> | Set<unknown>, Map<number, RootBase>>();
  refs.forEach((ref, n) => {
    const root = roots[n]!;
    const { path } = ref;
    if (path.length === 0) {
      top = root;
      return;
    }
    let parent: unknown = top;
    for (let i = 0; i < path.length - 1; i++) parent = childAt(parent, path[i]!, entries);
    const last = path[path.length - 1]!;
    if (typeof last === 'number') {
      (parent as unknown[])[last] = root; // an element: an array stays in fast mode
    } else if (typeof last === 'string') {
      Object.defineProperty(parent, last, { value: root, enumerable: true, writable: true, configurable: true });
    } else if ('v' in last) {
      const m = parent as Map<unknown, unknown>;
      m.set(childAt(m, { k: last.v }, entries), root);
    } else {
      const c = parent as Map<unknown, unknown> | Set<unknown>;
      let r = rebuild.get(c);
      if (r === undefined) rebuild.set(c, (r = new Map()));
      r.set('k' in last ? last.k : last.s, root);
    }
  });
  for (const [c, at] of rebuild) {
    if (c instanceof Map) {
      const list = [...c];
      c.clear();
      list.forEach(([k, v], i) => c.set(at.get(i) ?? k, v));
    } else {
      const list = [...c];
      c.clear();
      list.forEach((v, i) => c.add(at.get(i) ?? v));
    }
  }
  return top;
}

/** @internal Releases every transfer of `packed` that nobody adopted (a message that will never be read). */
export function releasePacked(packed: Packed, store: StoreCore): void {
  for (const ref of packed.refs) if ('token' in ref) store.releaseTransfer(ref.token);
}

/** Failed-task tags a pool keeps sweeping (the oldest go first); far more than fail at once. */
const MAX_FAILED_TAGS = 1024;

/** @internal
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
  sweep(store: StoreCore): number {
    if (this.#tags.size === 0) return 0;
    return store.releaseTransfersTagged((tag) => this.#tags.has(tag));
  }

  /** Forgets every tag (after the pool's workers stopped and a last sweep). */
  clear(): void {
    this.#tags.clear();
  }
}
