/**
 * The adversarial model: operations a hostile or careless user, a slow host module and dying
 * threads produce, run on a real heap beside a model that knows what must hold.
 *
 * Where ./model.ts waits for every operation, this one leaves asynchronous work pending (a
 * `newWith`, `call`, `dataMut` or `data` started and not awaited) and lets later operations —
 * other mutations of the same object, `gc()`, `store.close()`, a worker's death, `heap.close()` —
 * land on top of it. What is checked:
 * - counts: after every step, every live object's `strongCount` equals the model's count (roots
 *   the model holds), and a dead object's handle resolves nowhere (I1, I2);
 * - values: a list object's value is changed only by its own mutations, in one serial order: its
 *   final value holds every mutation that succeeded exactly once, none that was refused, and every
 *   read along the way saw a prefix of it (so no update is lost, none applied twice, and no thread
 *   keeps a copy the others do not see);
 * - disposal: the host module logs every construction (+id) and every disposer call (-id) in
 *   shared memory; a dead object is disposed exactly once, a live one never, and at the end (or
 *   after `heap.close()`) every value built is disposed exactly once, including values whose
 *   construction was abandoned;
 * - liveness: every pending operation settles within a bound (I8), with a result or an error the
 *   model allows for what happened meanwhile;
 * - hostile data: plain data shaped like internal markers, `__proto__` keys, shared and deep
 *   sub-objects and roots inside Maps and Sets cross to a worker and back unchanged;
 * - names inherited from `Object.prototype` are not factories, methods or tasks; raw-handle entry
 *   points refuse every number that is not a u32 (or its i32 form) and change nothing.
 */
import { expect } from 'chai';
import {
  ExternRef,
  type Heap,
  type ManuallyRooted,
  type Pool,
  type RootBase,
  type Rooted,
  type Store,
} from '../../src';

// ---- operations ---------------------------------------------------------------------------------

/** How long host code takes in an operation: ms, or -1 for never. */
export type Delay = number;
/** A host value's disposer (see test/fixtures/adversary-host.ts). */
export type Disposal = 'sync' | 'async' | 'asyncHang' | 'throws';
/** What a `mutate` does to a list object. */
export type MutateHow = 'dataMut' | 'dataMutSync' | 'call' | 'callSync' | 'worker';
/** Names inherited from `Object.prototype` (and friends) that must never be factories, methods or tasks. */
export const PROTO_NAMES = [
  'constructor',
  'toString',
  '__proto__',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  '__defineGetter__',
  'toLocaleString',
  'propertyIsEnumerable',
] as const;
/** Class names for values built in place: long, non-ASCII, and sharing a 64-byte prefix. */
export const CLASS_NAMES = [
  'Plain',
  'Ünïcødé_Ωμέγα_値',
  `Long_${'x'.repeat(70)}_A`,
  `Long_${'x'.repeat(70)}_B`,
  `${'é'.repeat(31)}ab`,
  `${'é'.repeat(31)}ac`,
  '𝒮𝓊𝓇𝓇𝑜𝑔𝒶𝓉𝑒',
];
/** Ways to spell a handle wrongly. */
export const BAD_FORMS = ['plus2^32', 'half', 'string', 'nan', 'bigint', 'neg2^31-1', 'infinity', 'object'] as const;
/** Raw-handle entry points. */
export const RAW_ENTRIES = ['fromRaw', 'fromRawManuallyRooted', 'fromOwnedRaw'] as const;

/** One operation. Indices pick among what exists when the step runs (modulo). */
export type AdvOp =
  | { t: 'newList'; s: number }
  | { t: 'newChameleon'; s: number }
  | { t: 'newWith'; s: number; sync: boolean; delay: Delay; disposal: Disposal; name: number }
  | { t: 'clone'; r: number; s: number }
  | { t: 'unroot'; r: number }
  | { t: 'mutate'; r: number; how: MutateHow; delay: number; wait: boolean; keepResult: boolean }
  | { t: 'read'; r: number; sync: boolean; wait: boolean }
  | { t: 'retype'; r: number; to: 'number' | 'Map' | 'string' | 'Set' }
  | { t: 'nested'; r: number; inner: 'dataMutSync' | 'callSync' }
  | {
      t: 'hostCall';
      r: number;
      method: 'get' | 'slow' | 'hang' | 'returnsFunction' | 'returnsSymbol' | 'badArg';
      wait: boolean;
    }
  | { t: 'protoName'; which: 'factory' | 'factorySync' | 'method' | 'listMethod' | 'task'; name: number }
  | { t: 'badRaw'; r: number; form: number; entry: number }
  | { t: 'i32Raw'; r: number }
  | { t: 'hostile'; shape: number; seed: number }
  | { t: 'storeNew' }
  | { t: 'storeClose'; s: number }
  | { t: 'settle'; p: number }
  | { t: 'gc'; sync: boolean }
  | { t: 'kill' }
  | { t: 'heapClose' };

// ---- the model ----------------------------------------------------------------------------------

interface Obj {
  readonly id: number;
  readonly kind: 'list' | 'chameleon' | 'item';
  readonly raw: number;
  /** Items: the id the host module logs. */
  readonly itemId: number;
  readonly disposal: Disposal | null;
  /** Chameleons: the type `typeOf` must report. */
  type: string;
  /** Lists: mutations that succeeded, that were refused, and whose outcome cannot be known. */
  readonly committed: Set<number>;
  readonly refused: Set<number>;
  readonly unknown: Set<number>;
  /** Lists: every value read, as JSON at the time it was read. */
  readonly reads: string[];
  /** Its count reached 0 (for ever). */
  dead: boolean;
}

interface RootRec {
  readonly obj: Obj;
  readonly store: number;
  readonly real: ManuallyRooted;
  live: boolean;
}

interface Pending {
  readonly what: string;
  readonly store: number;
  promise: Promise<void>;
  settled: boolean;
}

/** What the sequences share. */
export interface AdvBench {
  readonly heap: Heap;
  readonly pool: Pool | null;
  /** The event log the host module writes (word 0: count). */
  readonly log: Int32Array;
  /** Bound on any pending operation's settling, in ms. */
  readonly settleBoundMs: number;
  /** The heap's `userCodeTimeoutMs` (0 when the heap has no such option). */
  readonly userCodeTimeoutMs: number;
}

let nextId = 1;
let nextItemId = 1;
let nextMutation = 1;

/** How many times each kind of operation ran and did something (not a no-op), since the last reset. */
export const advCounts = new Map<AdvOp['t'], number>();

/** Error codes a pending operation may end with when its store or heap closed under it. */
const CLOSED_CODES = new Set(['ERR_STORE_CLOSED', 'ERR_HEAP_CLOSED']);

/** Codes a pending operation may end with when its store or heap closed, or its object died, under it. */
const GONE_CODES = [...CLOSED_CODES, 'ERR_INVALID_HANDLE'];

/**
 * Whether `err` is what a pending operation on `o` may end with because of what happened after it
 * started: its store or heap closed, or (`ERR_INVALID_HANDLE`) its object died.
 */
function gone(o: Obj, err: unknown): boolean {
  const code = codeOf(err);
  return CLOSED_CODES.has(code) || (code === 'ERR_INVALID_HANDLE' && o.dead);
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : `(no code: ${String((err as Error)?.message ?? err)})`;
}

function expectCode(fn: () => unknown, code: string, what: string): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `${what}: expected a throw with code ${code}`).to.not.equal(null);
  expect(codeOf(caught), what).to.equal(code);
}

async function expectRejects(p: Promise<unknown>, codes: readonly string[], what: string): Promise<void> {
  let caught: unknown = null;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, `${what}: expected a rejection with ${codes.join(' or ')}`).to.not.equal(null);
  expect(codes, `${what}: rejected with ${codeOf(caught)}`).to.include(codeOf(caught));
}

/** Resolves `p`, or fails when it has not settled within `ms` (a hang, I8). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms (I8)`)), ms);
  });
  try {
    return await Promise.race([p, bound]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `ops` on the heap and on the model; checks after every step and at the end. */
export async function runAdversary(bench: AdvBench, ops: readonly AdvOp[], ownsHeap: boolean): Promise<void> {
  const seq = new Sequence(bench, ownsHeap);
  let failure: unknown = null;
  try {
    for (const op of ops) {
      if (seq.heapClosed && op.t !== 'settle') continue;
      if (await seq.apply(op)) advCounts.set(op.t, (advCounts.get(op.t) ?? 0) + 1);
      seq.settleModel();
      if (!seq.heapClosed && seq.quiet()) seq.checkCounts(op);
    }
  } catch (err) {
    failure = err;
  }
  try {
    await seq.finish();
  } catch (err) {
    failure ??= err;
  }
  if (failure !== null) throw failure;
}

class Sequence {
  readonly #b: AdvBench;
  readonly #ownsHeap: boolean;
  readonly #objs: Obj[] = [];
  readonly #roots: RootRec[] = [];
  /** Stores of this sequence: index 0 is the heap's own store; others are made by `storeNew`. */
  readonly #stores: (Store | null)[];
  readonly #pending: Pending[] = [];
  /** Items whose construction may still complete (abandoned or pending): their disposal is checked at the end. */
  readonly #firstEvent: number;
  readonly #base: { live: number };
  heapClosed = false;

  constructor(b: AdvBench, ownsHeap: boolean) {
    this.#b = b;
    this.#ownsHeap = ownsHeap;
    this.#stores = [b.heap.store];
    this.#firstEvent = Atomics.load(b.log, 0);
    this.#base = { live: b.heap.stats().live };
  }

  // ---- model helpers ------------------------------------------------------------------------------

  #count(o: Obj): number {
    let n = 0;
    for (const r of this.#roots) if (r.live && r.obj === o) n++;
    return n;
  }

  #pick<T>(xs: readonly T[], i: number): T | undefined {
    return xs.length === 0 ? undefined : xs[i % xs.length];
  }

  #live(filter?: (r: RootRec) => boolean): RootRec[] {
    return this.#roots.filter((r) => r.live && this.#stores[r.store] !== null && (filter?.(r) ?? true));
  }

  #openStores(): number[] {
    return this.#stores.flatMap((s, i) => (s === null ? [] : [i]));
  }

  #store(s: number): { index: number; store: Store } {
    const open = this.#openStores();
    const index = open[s % open.length]!;
    return { index, store: this.#stores[index]! };
  }

  #newObj(kind: Obj['kind'], raw: number, itemId = 0, disposal: Disposal | null = null, type = ''): Obj {
    const o: Obj = {
      id: nextId++,
      kind,
      raw,
      itemId,
      disposal,
      type,
      committed: new Set(),
      refused: new Set(),
      unknown: new Set(),
      reads: [],
      dead: false,
    };
    this.#objs.push(o);
    return o;
  }

  #addRoot(obj: Obj, store: number, real: ManuallyRooted): RootRec {
    const rec: RootRec = { obj, store, real, live: true };
    this.#roots.push(rec);
    return rec;
  }

  /** Objects whose count reached 0 are dead for ever. */
  settleModel(): void {
    for (const o of this.#objs) if (!o.dead && this.#count(o) === 0 && !this.#awaitingRoot.has(o)) o.dead = true;
  }

  /** Async `dataMut`s of each object this sequence started and has not seen settle. */
  readonly #asyncLeases = new Map<Obj, number>();

  /** Whether this thread may hold or wait for a lease on `o` (an async dataMut of it in flight). */
  #leasing(o: Obj): boolean {
    return (this.#asyncLeases.get(o) ?? 0) > 0;
  }

  /** Objects a pending operation will root when it settles (none: roots are added on settle). */
  readonly #awaitingRoot = new Set<Obj>();

  /** True when no pending operation can still change counts. */
  quiet(): boolean {
    return this.#pending.every((p) => p.settled);
  }

  #track(what: string, store: number, work: Promise<void>): void {
    const p: Pending = { what, store, promise: work, settled: false };
    p.promise = work.then(
      () => {
        p.settled = true;
      },
      (err: unknown) => {
        p.settled = true;
        throw err;
      },
    );
    // Failures surface when the operation is settled (or at the end); never unhandled.
    p.promise.catch(() => undefined);
    this.#pending.push(p);
  }

  // ---- one step -----------------------------------------------------------------------------------

  /** Runs `op`; false when it had nothing to act on. */
  async apply(op: AdvOp): Promise<boolean> {
    const b = this.#b;
    switch (op.t) {
      case 'newList':
      case 'newChameleon': {
        const { index, store } = this.#store(op.s);
        const value = op.t === 'newList' ? [] : 0;
        const m = ExternRef.newManuallyRooted(store, value);
        const o = this.#newObj(op.t === 'newList' ? 'list' : 'chameleon', m.toRaw(), 0, null, 'number');
        this.#addRoot(o, index, m);
        return true;
      }
      case 'newWith': {
        const { index, store } = this.#store(op.s);
        const itemId = nextItemId++;
        const name = CLASS_NAMES[op.name % CLASS_NAMES.length]!;
        const className = op.name % (CLASS_NAMES.length + 1) === CLASS_NAMES.length ? undefined : name;
        const expectType =
          className ?? (op.disposal === 'async' || op.disposal === 'asyncHang' ? 'AsyncItem' : 'SyncItem');
        const adopt = (r: Rooted): void => {
          const m = r.toManuallyRooted();
          expect(m.typeOf(), 'typeOf a value built in place names its class whole').to.equal(expectType);
          const o = this.#newObj('item', m.toRaw(), itemId, op.disposal, expectType);
          this.#addRoot(o, index, m);
        };
        if (op.sync) {
          store.scope(() => adopt(ExternRef.newWithSync(store, 'itemNow', itemId, op.disposal, className)));
          return true;
        }
        const work = store.scope(async () => {
          try {
            adopt(await ExternRef.newWith(store, 'item', itemId, op.delay, op.disposal, className));
          } catch (err) {
            const code = codeOf(err);
            if (CLOSED_CODES.has(code) || (code === 'ERR_CALL_TIMEOUT' && op.delay < 0)) return;
            throw new Error(`newWith(item ${itemId}) failed with ${code}`, { cause: err });
          }
        });
        this.#track(`newWith(item ${itemId}, delay ${op.delay})`, index, work);
        return true;
      }
      case 'clone': {
        const r = this.#pick(this.#live(), op.r);
        if (r === undefined) return false;
        const { index, store } = this.#store(op.s);
        // Another store: the count travels by raw handle (fromRaw); the same store: clone.
        const m = index === r.store ? r.real.clone() : ExternRef.fromRawManuallyRooted(store, r.real.toRaw())!;
        this.#addRoot(r.obj, index, m);
        return true;
      }
      case 'unroot': {
        const r = this.#pick(this.#live(), op.r);
        if (r === undefined) return false;
        r.real.unroot();
        r.live = false;
        expectCode(() => r.real.unroot(), 'ERR_UNROOTED', 'a second unroot');
        return true;
      }
      case 'mutate':
        return this.#mutate(op);
      case 'read': {
        const r = this.#pick(
          this.#live((x) => x.obj.kind === 'list'),
          op.r,
        );
        if (r === undefined) return false;
        const o = r.obj;
        if (op.sync) {
          o.reads.push(JSON.stringify(r.real.dataSync()));
          return true;
        }
        const work = r.real.data().then(
          (v) => void o.reads.push(JSON.stringify(v)),
          (err: unknown) => {
            if (!gone(o, err)) throw err;
          },
        );
        if (op.wait) await within(work, b.settleBoundMs, 'data()');
        else this.#track(`data() of ${o.id}`, r.store, work);
        return true;
      }
      case 'retype': {
        const r = this.#pick(
          this.#live((x) => x.obj.kind === 'chameleon'),
          op.r,
        );
        if (r === undefined) return false;
        const make: Record<typeof op.to, () => unknown> = {
          number: () => 1,
          Map: () => new Map([[1, 2]]),
          string: () => 's',
          Set: () => new Set([1]),
        };
        r.real.dataMutSync<unknown>(make[op.to]);
        r.obj.type = op.to;
        expect(r.real.typeOf(), 'typeOf follows a commit that changed the type').to.equal(op.to);
        return true;
      }
      case 'nested': {
        const r = this.#pick(
          this.#live((x) => x.obj.kind === 'list'),
          op.r,
        );
        if (r === undefined) return false;
        const id = nextMutation++;
        const inner = nextMutation++;
        r.obj.refused.add(inner);
        const busy = this.#leasing(r.obj);
        r.obj.unknown.add(id);
        blockingMutation(busy, id, r.obj, () =>
          r.real.dataMutSync((v: number[]) => {
            if (op.inner === 'dataMutSync') {
              expectCode(
                () => r.real.dataMutSync((w: number[]) => [...w, inner]),
                'ERR_LEASE_REENTRANT',
                'nested dataMutSync',
              );
            } else {
              expectCode(() => r.real.callSync('push', inner), 'ERR_LEASE_REENTRANT', 'callSync inside dataMutSync');
            }
            return [...v, id];
          }),
        );
        return true;
      }
      case 'hostCall':
        return this.#hostCall(op);
      case 'protoName':
        return this.#protoName(op);
      case 'badRaw': {
        const r = this.#pick(this.#live(), op.r);
        if (r === undefined) return false;
        const store = this.#stores[r.store]!;
        const h = r.real.toRaw();
        const form = BAD_FORMS[op.form % BAD_FORMS.length]!;
        const bad = badForm(h, form);
        const entry = RAW_ENTRIES[op.entry % RAW_ENTRIES.length]!;
        expectCode(
          () => (ExternRef[entry] as (s: Store, raw: unknown) => unknown)(store, bad),
          'ERR_INVALID_HANDLE',
          `${entry}(${form} of a live handle)`,
        );
        return true;
      }
      case 'i32Raw': {
        const r = this.#pick(this.#live(), op.r);
        if (r === undefined) return false;
        const store = this.#stores[r.store]!;
        // The i32 with the same bits (how Wasm and Int32Array give it) names the same object.
        const m = ExternRef.fromRawManuallyRooted(store, r.real.toRaw() | 0)!;
        expect(ExternRef.ptrEq(m, r.real), 'fromRaw of the i32 form').to.equal(true);
        this.#addRoot(r.obj, r.store, m);
        return true;
      }
      case 'hostile':
        return this.#hostile(op);
      case 'storeNew': {
        if (this.#stores.length >= 4) return false;
        this.#stores.push(b.heap.createStore());
        return true;
      }
      case 'storeClose': {
        const open = this.#openStores().filter((i) => i > 0);
        if (open.length === 0) return false;
        const index = open[op.s % open.length]!;
        this.#stores[index]!.close();
        this.#stores[index] = null;
        for (const r of this.#roots) if (r.store === index) r.live = false;
        // A freed region can be claimed at once.
        this.#stores.push(b.heap.createStore());
        return true;
      }
      case 'settle': {
        const p = this.#pick(
          this.#pending.filter((x) => !x.settled),
          op.p,
        );
        if (p === undefined) return false;
        await within(p.promise, b.settleBoundMs, p.what);
        return true;
      }
      case 'gc': {
        if (op.sync) b.heap.gcSync();
        else await within(b.heap.gc(), b.settleBoundMs, 'heap.gc()');
        this.settleModel();
        if (this.quiet()) this.#checkDisposals(false);
        return true;
      }
      case 'kill': {
        if (b.pool === null) return false;
        let failed = false;
        await b.pool.run('die').catch(() => (failed = true));
        expect(failed, 'a task whose worker dies fails').to.equal(true);
        return true;
      }
      case 'heapClose': {
        if (!this.#ownsHeap) return false;
        await within(b.heap.close(), b.settleBoundMs + b.userCodeTimeoutMs * 2, 'heap.close()');
        this.heapClosed = true;
        for (const r of this.#roots) r.live = false;
        return true;
      }
    }
  }

  async #mutate(op: Extract<AdvOp, { t: 'mutate' }>): Promise<boolean> {
    const r = this.#pick(
      this.#live((x) => x.obj.kind === 'list'),
      op.r,
    );
    if (r === undefined) return false;
    if (op.how === 'worker' && this.#b.pool === null) return false;
    const o = r.obj;
    const id = nextMutation++;
    const real = r.real;
    let work: Promise<unknown>;
    switch (op.how) {
      case 'dataMutSync': {
        o.unknown.add(id);
        blockingMutation(this.#leasing(o), id, o, () => {
          const v = real.dataMutSync((list: number[]) => [...list, id]);
          if (op.keepResult) v.push(-id); // the caller changes what it got: nobody else may see it
        });
        return true;
      }
      case 'callSync':
        o.unknown.add(id);
        blockingMutation(this.#leasing(o), id, o, () => real.callSync('push', id));
        return true;
      case 'dataMut':
        this.#asyncLeases.set(o, (this.#asyncLeases.get(o) ?? 0) + 1);
        work = real
          .dataMut(async (list: number[]) => {
            if (op.delay > 0) await sleep(op.delay);
            return [...list, id];
          })
          .then((v) => {
            if (op.keepResult) v.push(-id);
          })
          .finally(() => this.#asyncLeases.set(o, this.#asyncLeases.get(o)! - 1));
        break;
      case 'call':
        work = real.call('push', id);
        break;
      case 'worker':
        work = this.#stores[0]!.scope(() => this.#b.pool!.run('append', real, id));
        break;
    }
    o.unknown.add(id);
    const outcome = work.then(
      () => {
        o.unknown.delete(id);
        o.committed.add(id);
      },
      (err: unknown) => {
        // A task's argument is a count its root's store parks for the worker: when that store
        // closes before the worker adopts it, the count is released and the task fails lost.
        const lost = op.how === 'worker' && codeOf(err) === 'ERR_TRANSFER_LOST' && real.store.closed;
        if (!gone(o, err) && codeOf(err) !== 'ERR_LEASE_TIMEOUT' && !lost) throw err;
        // Refused, or perhaps applied just before its store or heap closed: either is allowed.
      },
    );
    if (op.wait) await within(outcome, this.#b.settleBoundMs, `${op.how} of ${o.id}`);
    else this.#track(`${op.how} ${id} of ${o.id}`, r.store, outcome);
    return true;
  }

  async #hostCall(op: Extract<AdvOp, { t: 'hostCall' }>): Promise<boolean> {
    const r = this.#pick(
      this.#live((x) => x.obj.kind === 'item'),
      op.r,
    );
    if (r === undefined) return false;
    const o = r.obj;
    const real = r.real;
    const b = this.#b;
    if (op.method === 'hang' && b.userCodeTimeoutMs === 0) return false;
    let work: Promise<void>;
    switch (op.method) {
      case 'get':
      case 'slow':
        work = (op.method === 'get' ? real.call('get') : real.call('slow', 1)).then((v) => {
          expect(v, `call('${op.method}') answers its own object's id`).to.equal(o.itemId);
        });
        break;
      case 'hang':
        work = expectRejects(real.call('hang'), ['ERR_CALL_TIMEOUT', ...GONE_CODES], "call('hang')");
        break;
      case 'returnsFunction':
      case 'returnsSymbol':
        work = expectRejects(real.call(op.method), ['ERR_NOT_CLONEABLE', ...GONE_CODES], `call('${op.method}')`);
        break;
      case 'badArg':
        expectCode(() => real.callSync('get', () => 1), 'ERR_NOT_CLONEABLE', 'callSync with a function argument');
        work = expectRejects(real.call('get', Symbol('s')), ['ERR_NOT_CLONEABLE'], 'call with a symbol argument');
        break;
    }
    const guarded = work.catch((err: unknown) => {
      if (!gone(o, err)) throw err;
    });
    if (op.wait) await within(guarded, b.settleBoundMs, `call('${op.method}')`);
    else this.#track(`call('${op.method}') on item ${o.itemId}`, r.store, guarded);
    return true;
  }

  async #protoName(op: Extract<AdvOp, { t: 'protoName' }>): Promise<boolean> {
    const name = PROTO_NAMES[op.name % PROTO_NAMES.length]!;
    const store = this.#stores[0]!;
    switch (op.which) {
      case 'factory':
        await expectRejects(ExternRef.newWith(store, name), ['ERR_NO_SUCH_FACTORY'], `newWith('${name}')`);
        return true;
      case 'factorySync':
        expectCode(() => ExternRef.newWithSync(store, name), 'ERR_NO_SUCH_FACTORY', `newWithSync('${name}')`);
        return true;
      case 'method': {
        const r = this.#pick(
          this.#live((x) => x.obj.kind === 'item'),
          op.name,
        );
        if (r === undefined) return false;
        await expectRejects(r.real.call(name), ['ERR_NO_SUCH_METHOD'], `call('${name}')`);
        expectCode(() => r.real.callSync(name), 'ERR_NO_SUCH_METHOD', `callSync('${name}')`);
        return true;
      }
      case 'listMethod': {
        const r = this.#pick(
          this.#live((x) => x.obj.kind === 'list'),
          op.name,
        );
        if (r === undefined) return false;
        // While an async dataMut of it is in flight here, a blocking call may be refused first.
        let caught: unknown = null;
        try {
          r.real.callSync(name);
        } catch (err) {
          caught = err;
        }
        const allowed = this.#leasing(r.obj) ? ['ERR_NO_SUCH_METHOD', 'ERR_LEASE_REENTRANT'] : ['ERR_NO_SUCH_METHOD'];
        expect(allowed, `callSync('${name}') on a list threw ${codeOf(caught)}`).to.include(codeOf(caught));
        return true;
      }
      case 'task': {
        if (this.#b.pool === null) return false;
        await expectRejects(this.#b.pool.run(name), ['ERR_NO_SUCH_TASK'], `pool.run('${name}')`);
        return true;
      }
    }
  }

  async #hostile(op: Extract<AdvOp, { t: 'hostile' }>): Promise<boolean> {
    const pool = this.#b.pool;
    if (pool === null) return false;
    const roots = this.#live((x) => x.store === 0).map((x) => x.real);
    const { value, expected } = hostileValue(op.shape, op.seed, roots);
    const store = this.#stores[0]!;
    await store.scope(async () => {
      const back = await within(pool.run('roundTrip', value), this.#b.settleBoundMs, 'pool.run(roundTrip)');
      const seen = describeValue(back);
      expect(seen, `hostile data shape ${op.shape} crosses unchanged`).to.deep.equal(expected);
    });
    return true;
  }

  // ---- checks -------------------------------------------------------------------------------------

  /** Counts: every live object's count equals the model's; a dead object's handle resolves nowhere. */
  checkCounts(op: AdvOp | null): void {
    const probe = this.#stores[0]!;
    const out: string[] = [];
    for (const o of this.#objs) {
      if (o.dead) {
        let revived = false;
        try {
          const r = ExternRef.fromRawManuallyRooted(probe, o.raw);
          if (r !== null) {
            revived = true;
            r.unroot();
          }
        } catch (err) {
          if (codeOf(err) !== 'ERR_INVALID_HANDLE') throw err;
        }
        if (revived) out.push(`object ${o.id} (${o.kind}) is dead but fromRaw resolved it`);
        continue;
      }
      const r = this.#roots.find((x) => x.live && x.obj === o);
      const got = r !== undefined ? r.real.strongCount() : -1;
      const want = this.#count(o);
      if (got !== want) out.push(`object ${o.id} (${o.kind}): strongCount ${got}, model ${want}`);
      if (r !== undefined && o.kind === 'chameleon' && r.real.typeOf() !== o.type) {
        out.push(`object ${o.id}: typeOf ${r.real.typeOf()}, model ${o.type}`);
      }
    }
    expect(out.join('\n'), `heap and model differ after ${JSON.stringify(op)}`).to.equal('');
  }

  /** The host module's log since the sequence began: events by item id. */
  #events(): Map<number, { built: number; disposed: number }> {
    const log = this.#b.log;
    const n = Math.min(Atomics.load(log, 0), log.length - 1);
    const by = new Map<number, { built: number; disposed: number }>();
    for (let k = this.#firstEvent + 1; k <= n; k++) {
      const e = Atomics.load(log, k);
      const id = Math.abs(e);
      const rec = by.get(id) ?? { built: 0, disposed: 0 };
      if (e > 0) rec.built++;
      else rec.disposed++;
      by.set(id, rec);
    }
    return by;
  }

  /** Disposal: dead items exactly once, live ones never; with `all`, every item built exactly once. */
  #checkDisposals(all: boolean): void {
    const events = this.#events();
    const items = new Map(this.#objs.filter((o) => o.kind === 'item').map((o) => [o.itemId, o]));
    const out: string[] = [];
    for (const [id, e] of events) {
      const o = items.get(id);
      if (e.built !== 1) out.push(`item ${id} built ${e.built} times`);
      if (e.disposed > 1) out.push(`item ${id} disposed ${e.disposed} times (I3)`);
      if (o !== undefined && !o.dead && e.disposed > 0) out.push(`item ${id} disposed while the model holds it (I3)`);
      if (((o !== undefined && o.dead) || all) && e.disposed !== 1) {
        out.push(
          `item ${id} ${o === undefined ? '(abandoned construction)' : 'is dead but'} disposed ${e.disposed} times`,
        );
      }
    }
    expect(out.join('\n'), 'the host module log').to.equal('');
  }

  /** Lists: the final value holds each succeeded mutation once, none refused; every read a prefix. */
  #checkLists(finals: Map<Obj, number[]>): void {
    const out: string[] = [];
    for (const [o, final] of finals) {
      const ids = new Set(final);
      if (ids.size !== final.length) out.push(`list ${o.id}: a mutation applied twice: ${JSON.stringify(final)}`);
      for (const id of o.committed) if (!ids.has(id)) out.push(`list ${o.id}: mutation ${id} succeeded but was lost`);
      for (const id of o.refused) if (ids.has(id)) out.push(`list ${o.id}: refused mutation ${id} was applied`);
      for (const id of final) {
        if (!o.committed.has(id) && !o.unknown.has(id)) out.push(`list ${o.id}: ${id} appeared from nowhere`);
      }
      for (const read of o.reads) {
        const seen = JSON.parse(read) as number[];
        if (!seen.every((x, i) => final[i] === x)) {
          out.push(`list ${o.id}: a read saw ${read}, not a prefix of the final ${JSON.stringify(final)}`);
        }
      }
    }
    expect(out.join('\n'), 'list values').to.equal('');
  }

  /** Settles everything, releases everything, and checks the end state. */
  async finish(): Promise<void> {
    const b = this.#b;
    let failure: unknown = null;
    for (const p of this.#pending) {
      try {
        await within(p.promise, b.settleBoundMs, p.what);
      } catch (err) {
        failure ??= err;
      }
    }
    const finals = new Map<Obj, number[]>();
    if (!this.heapClosed) {
      for (const o of this.#objs) {
        const r = this.#roots.find((x) => x.live && x.obj === o && this.#stores[x.store] !== null);
        if (o.kind === 'list' && r !== undefined) finals.set(o, r.real.dataSync() as number[]);
      }
      for (const r of this.#roots) {
        if (r.live && this.#stores[r.store] !== null) r.real.unroot();
        r.live = false;
      }
      for (let i = 1; i < this.#stores.length; i++) this.#stores[i]?.close();
      this.settleModel();
      await within(b.heap.gc(), b.settleBoundMs, 'heap.gc() at the end');
      if (failure === null) this.checkCounts(null);
    } else if (!this.#ownsHeap) {
      throw new Error('a shared heap was closed');
    }
    if (failure !== null) throw failure;
    this.#checkLists(finals);
    // Abandoned constructions may complete late: give them the bound to do so and be disposed.
    const undisposed = (): boolean => [...this.#events().values()].some((e) => e.disposed < e.built);
    if (undisposed()) {
      const deadline = Date.now() + b.settleBoundMs;
      while (Date.now() < deadline && undisposed()) {
        await sleep(5);
        if (!this.heapClosed) await b.heap.gc();
      }
    }
    this.#checkDisposals(true);
    if (!this.heapClosed) {
      expect(b.heap.stats().live, 'live objects after the sequence').to.equal(this.#base.live);
    }
  }
}

/**
 * Runs a blocking mutation (`id`) of `o`: it succeeds, or, while this thread may hold or wait for
 * the object's lease (`busy`), it may be refused with `ERR_LEASE_REENTRANT` (a blocking wait would
 * deadlock). The model cannot know the exact moment an async dataMut releases its lease, so while
 * one is in flight either outcome is allowed; otherwise it must succeed. True if it succeeded.
 */
function blockingMutation(busy: boolean, id: number, o: Obj, run: () => void): boolean {
  try {
    run();
  } catch (err) {
    if (!busy || codeOf(err) !== 'ERR_LEASE_REENTRANT') throw err;
    o.unknown.delete(id);
    o.refused.add(id);
    return false;
  }
  o.unknown.delete(id);
  o.committed.add(id);
  return true;
}

// ---- bad handles --------------------------------------------------------------------------------

/** A wrong spelling of handle `h`. */
function badForm(h: number, form: (typeof BAD_FORMS)[number]): unknown {
  switch (form) {
    case 'plus2^32':
      return h + 2 ** 32;
    case 'half':
      return h + 0.5;
    case 'string':
      return String(h);
    case 'nan':
      return NaN;
    case 'bigint':
      return BigInt(h);
    case 'neg2^31-1':
      return -(2 ** 31) - 1;
    case 'infinity':
      return Infinity;
    case 'object':
      return { valueOf: () => h };
  }
}

// ---- hostile data -------------------------------------------------------------------------------

/** A tiny seeded generator (xorshift32). */
function prng(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/**
 * A value of shape `shape` built from `seed`, holding `roots` in chosen places, and what it must
 * look like after crossing (see `describeValue`).
 */
export function hostileValue(
  shape: number,
  seed: number,
  roots: readonly RootBase[],
): { value: unknown; expected: unknown } {
  const rand = prng(seed);
  const root = (): RootBase | string => (roots.length === 0 ? 'no-root' : roots[Math.floor(rand() * roots.length)]!);
  let value: unknown;
  switch (shape % HOSTILE_SHAPES) {
    case 0: {
      // Plain data shaped exactly like a transfer marker of the first design, with a real root beside it.
      value = {
        __sharedrefTransfer: 1,
        token: { entry: 0, sequence: 1, handle: 1 + Math.floor(rand() * 1000) },
        manual: true,
        real: root(),
      };
      break;
    }
    case 1:
      // Own `__proto__` keys, as JSON.parse makes them, at two depths.
      value = JSON.parse('{"__proto__": {"polluted": true}, "inner": {"__proto__": [1, 2]}, "x": 1}');
      (value as { r: unknown }).r = root();
      break;
    case 2: {
      // Shared sub-objects, six levels deep: linear to walk, and the sharing is kept.
      let level: unknown = { leaf: root() };
      for (let i = 0; i < 6; i++) level = [level, level, { again: level }];
      value = level;
      break;
    }
    case 3: {
      // Roots deeper than any depth limit.
      let deep: unknown = root();
      for (let i = 0; i < 40; i++) deep = i % 2 === 0 ? { d: deep } : [deep];
      value = deep;
      break;
    }
    case 4:
      // Roots as Map keys and values, and in Sets.
      value = {
        m: new Map<unknown, unknown>([
          [root(), 'k'],
          ['v', root()],
          [1, new Set([root(), 2])],
        ]),
      };
      break;
    case 5: {
      // A cycle through a root-holding object.
      const a: Record<string, unknown> = { r: root() };
      a.self = a;
      value = [a, a];
      break;
    }
    case 6:
      // Markers inside Maps and arrays, and a null-prototype object.
      value = [
        new Map([['__sharedrefTransfer', { __sharedrefTransfer: 1, token: null }]]),
        Object.assign(Object.create(null) as object, { __sharedrefTransfer: 1, r: root() }),
      ];
      break;
    case 7: {
      // Roots where a walk over elements and own data properties would not look: an array's
      // property that is not an index (beside a hole), and an enumerable getter.
      const list: unknown[] & { extra?: unknown } = [1, , root()]; // eslint-disable-line no-sparse-arrays
      list.extra = root();
      const r = root();
      value = {
        list,
        get hidden() {
          return r;
        },
      };
      break;
    }
    case 8: {
      // A root as deep as values may nest (shared/depth.ts: 1000 objects).
      let deep: unknown = root();
      for (let i = 0; i < 999; i++) deep = [deep];
      value = deep;
      break;
    }
    default:
      value = { list: Array.from({ length: 5 }, () => root()), n: rand() };
  }
  return { value, expected: describeValue(value) };
}

/** How many shapes `hostileValue` makes. */
export const HOSTILE_SHAPES = 10;

function ownValueOf(x: object, k: string): unknown {
  const d = Object.getOwnPropertyDescriptor(x, k)!;
  return d.get !== undefined ? (d.get.call(x) as unknown) : d.value;
}

/**
 * A canonical description of a value for comparing what crossed with what was sent: structure,
 * roots by their raw handle, and sharing (each object is described once; later references to it
 * say which it was).
 */
export function describeValue(v: unknown): unknown {
  const seen = new Map<object, number>();
  const walk = (x: unknown): unknown => {
    // A chain of one-element arrays (thousands deep) is described by its length, without recursion.
    let wraps = 0;
    while (Array.isArray(x) && x.length === 1 && 0 in x && Object.keys(x).length === 1 && !seen.has(x)) {
      seen.set(x, seen.size);
      wraps++;
      x = x[0];
    }
    if (wraps > 0) return { wrapped: wraps, in: walk(x) };
    if (typeof x !== 'object' || x === null) return typeof x === 'bigint' ? { bigint: String(x) } : x;
    const known = seen.get(x);
    if (known !== undefined) return { sameAs: known };
    seen.set(x, seen.size);
    if (typeof (x as RootBase).toRaw === 'function' && typeof (x as RootBase).strongCount === 'function') {
      return { root: (x as RootBase).toRaw() };
    }
    if (x instanceof Map) return { map: [...x].map(([k, val]) => [walk(k), walk(val)]) };
    if (x instanceof Set) return { set: [...x].map(walk) };
    // An array's elements (holes as holes) and its other own properties; an object's own keys as
    // data (an own `__proto__` key included), a getter's by its result. A structured clone makes
    // every plain object's prototype Object.prototype, so the prototype is not compared.
    const own = (keys: string[]): unknown[] => keys.map((k) => [k, walk(ownValueOf(x, k))]);
    if (Array.isArray(x)) {
      const elements = Array.from({ length: x.length }, (_, i) => (i in x ? walk(x[i]) : { hole: true }));
      return { array: elements, props: own(Object.keys(x).filter((k) => String(Number(k) >>> 0) !== k)) };
    }
    return { object: own(Object.getOwnPropertyNames(x)) };
  };
  return walk(v);
}
