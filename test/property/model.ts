/**
 * The reference model for the property tests, and the interpreter that runs one sequence of
 * operations on a real heap and on the model side by side, checking after every step.
 *
 * The model is deliberately simple: an object's count is the number of live roots that name it,
 * plus the raw handles that own a count (`intoRaw`), plus the manual roots the pool worker keeps.
 * An object whose count reaches 0 is dead for ever. After every step the heap must agree:
 * every live object's `strongCount` and value, every dead object refused by `fromRaw` (never
 * revived, never observed), and the disposal log holding only dead objects, each at most once;
 * after a `gc`, exactly the dead ones.
 */
import { expect } from 'chai';
import type { Heap, ManuallyRooted, Pool, RootBase, Rooted, Store } from '../../src';
import { ExternRef, RootScope } from '../../src';

/** One operation of a sequence. Indices pick among what exists when the step runs (modulo). */
export type Op =
  | { t: 'new'; s: number; kind: Kind; manual: boolean }
  | { t: 'clone'; r: number }
  | { t: 'toRooted'; r: number }
  | { t: 'unroot'; r: number }
  | { t: 'misuse'; r: number }
  | { t: 'enter'; s: number }
  | { t: 'exit'; s: number }
  | { t: 'fromRaw'; r: number; s: number }
  | { t: 'intoRaw'; r: number }
  | { t: 'fromOwnedRaw'; r: number }
  | { t: 'dataMut'; r: number; d: number }
  | { t: 'gc' }
  | { t: 'echo'; r: number }
  | { t: 'keep'; r: number; n: number }
  | { t: 'dropKept' }
  | { t: 'bump'; r: number; d: number }
  | { t: 'concat'; r: number; q: number }
  | { t: 'kill' };

/** What kind of value an object holds: cloneable `{ n }`, a string, or a value built in place. */
export type Kind = 'plain' | 'text' | 'tracked';

interface Obj {
  readonly id: number;
  readonly kind: Kind;
  value: unknown;
  readonly raw: number;
  /** Manual roots the pool worker keeps of it. */
  workerHeld: number;
  /** Its count reached 0: it may never be seen again, and must be disposed exactly once. */
  dead: boolean;
}

interface RootRec {
  readonly obj: Obj;
  readonly store: number;
  readonly manual: boolean;
  readonly real: RootBase;
  live: boolean;
}

interface ScopeRec {
  readonly real: RootScope;
  readonly roots: RootRec[];
}

interface OwnedRaw {
  readonly obj: Obj;
  readonly store: number;
  readonly raw: number;
}

/** What the sequences share: one heap, two stores on this thread, an optional one-worker pool. */
export interface Bench {
  readonly heap: Heap;
  readonly stores: readonly Store[];
  /** The host module's disposal log (ids of disposed `Tracked` values). */
  readonly log: ManuallyRooted;
  readonly pool: Pool | null;
}

let nextId = 1;

/** How many times each kind of operation ran and did something (not a no-op), since the last reset. */
export const opCounts = new Map<Op['t'], number>();

/** Runs `ops` on the heap and on the model, checking after every step; then releases all and checks the end state. */
export async function runSequence(bench: Bench, ops: readonly Op[]): Promise<void> {
  const seq = new Sequence(bench);
  try {
    for (const op of ops) {
      await seq.step(op);
      seq.check(op);
    }
  } finally {
    await seq.releaseAll();
  }
  await seq.checkEnd();
}

class Sequence {
  readonly #b: Bench;
  readonly #objs: Obj[] = [];
  readonly #roots: RootRec[] = [];
  readonly #scopes: ScopeRec[][];
  readonly #owned: OwnedRaw[] = [];
  readonly #firstId = nextId;
  readonly #base: { live: number; created: number; disposed: number };

  constructor(b: Bench) {
    this.#b = b;
    // A base scope per store, so every Rooted has a scope that the sequence closes.
    this.#scopes = b.stores.map((s) => [{ real: new RootScope(s), roots: [] }]);
    const st = b.heap.stats();
    this.#base = { live: st.live, created: st.created, disposed: st.disposed };
  }

  // ---- the model ---------------------------------------------------------------------------

  #count(o: Obj): number {
    let n = o.workerHeld;
    for (const r of this.#roots) if (r.live && r.obj === o) n++;
    for (const w of this.#owned) if (w.obj === o) n++;
    return n;
  }

  #live(filter?: (r: RootRec) => boolean): RootRec[] {
    return this.#roots.filter((r) => r.live && (filter === undefined || filter(r)));
  }

  #pick<T>(xs: readonly T[], i: number): T | undefined {
    return xs.length === 0 ? undefined : xs[i % xs.length];
  }

  #addRoot(obj: Obj, store: number, real: RootBase, manual: boolean): RootRec {
    const rec: RootRec = { obj, store, manual, real, live: true };
    this.#roots.push(rec);
    if (!manual) this.#scopes[store]!.at(-1)!.roots.push(rec);
    return rec;
  }

  #newObj(kind: Kind, value: unknown, raw: number): Obj {
    const o: Obj = { id: nextId++, kind, value, raw, workerHeld: 0, dead: false };
    this.#objs.push(o);
    return o;
  }

  /** Marks objects whose count reached 0 as dead (for ever). */
  #settle(): void {
    for (const o of this.#objs) if (!o.dead && this.#count(o) === 0) o.dead = true;
  }

  // ---- one step ------------------------------------------------------------------------------

  async step(op: Op): Promise<void> {
    if (await this.#apply(op)) opCounts.set(op.t, (opCounts.get(op.t) ?? 0) + 1);
    this.#settle();
  }

  /** Runs `op` on the heap and the model; false when it had nothing to act on. */
  async #apply(op: Op): Promise<boolean> {
    const { stores, pool } = this.#b;
    switch (op.t) {
      case 'new': {
        const store = stores[op.s % stores.length]!;
        const s = op.s % stores.length;
        const id = nextId;
        if (op.kind === 'tracked') {
          const r = ExternRef.newWithSync(store, 'tracked', id);
          const o = this.#newObj('tracked', id, r.toRaw());
          this.#addRoot(o, s, r, false);
          if (op.manual) this.#addRoot(o, s, r.toManuallyRooted(), true);
        } else {
          const value = op.kind === 'plain' ? { n: id } : `t${id}`;
          const r = op.manual ? ExternRef.newManuallyRooted(store, value) : ExternRef.new(store, value);
          this.#addRoot(this.#newObj(op.kind, value, r.toRaw()), s, r, op.manual);
        }
        break;
      }
      case 'clone': {
        const r = this.#pick(this.#live(), op.r);
        if (r === undefined) return false;
        const c = r.manual ? (r.real as ManuallyRooted).clone() : (r.real as Rooted).toManuallyRooted();
        this.#addRoot(r.obj, r.store, c, true);
        break;
      }
      case 'toRooted': {
        const r = this.#pick(
          this.#live((x) => x.manual),
          op.r,
        );
        if (r === undefined) return false;
        this.#addRoot(r.obj, r.store, (r.real as ManuallyRooted).toRooted(), false);
        break;
      }
      case 'unroot': {
        const r = this.#pick(
          this.#live((x) => x.manual),
          op.r,
        );
        if (r === undefined) return false;
        (r.real as ManuallyRooted).unroot();
        r.live = false;
        break;
      }
      case 'misuse': {
        // A released root of either kind: every use is ERR_UNROOTED and changes nothing.
        const r = this.#pick(
          this.#roots.filter((x) => !x.live),
          op.r,
        );
        if (r === undefined) return false;
        expectCode(() => r.real.dataSync(), 'ERR_UNROOTED');
        expectCode(() => r.real.toRaw(), 'ERR_UNROOTED');
        if (r.manual) expectCode(() => (r.real as ManuallyRooted).unroot(), 'ERR_UNROOTED');
        expect(r.real.isRooted).to.equal(false);
        break;
      }
      case 'enter': {
        const s = op.s % stores.length;
        this.#scopes[s]!.push({ real: new RootScope(stores[s]!), roots: [] });
        break;
      }
      case 'exit': {
        const stack = this.#scopes[op.s % stores.length]!;
        if (stack.length <= 1) return false; // the base scope closes at the end
        const top = stack.pop()!;
        top.real.close();
        for (const r of top.roots) r.live = false;
        break;
      }
      case 'fromRaw': {
        const r = this.#pick(this.#live(), op.r);
        if (r === undefined) return false;
        const s = op.s % stores.length;
        const got = ExternRef.fromRaw(stores[s]!, r.real.toRaw());
        expect(got, 'fromRaw of a live handle').to.not.equal(null);
        expect(ExternRef.ptrEq(got!, r.real)).to.equal(true);
        this.#addRoot(r.obj, s, got!, false);
        break;
      }
      case 'intoRaw': {
        const r = this.#pick(
          this.#live((x) => x.manual),
          op.r,
        );
        if (r === undefined) return false;
        const raw = (r.real as ManuallyRooted).intoRaw();
        expect(raw).to.equal(r.obj.raw);
        r.live = false;
        this.#owned.push({ obj: r.obj, store: r.store, raw });
        break;
      }
      case 'fromOwnedRaw': {
        if (this.#owned.length === 0) return false;
        const w = this.#owned.splice(op.r % this.#owned.length, 1)[0]!;
        const m = ExternRef.fromOwnedRaw(stores[w.store]!, w.raw)!;
        this.#addRoot(w.obj, w.store, m, true);
        break;
      }
      case 'dataMut': {
        const r = this.#pick(this.#live(), op.r);
        if (r === undefined) return false;
        if (r.obj.kind === 'tracked') {
          // Built in place: not cloneable, used through calls.
          expectCode(() => r.real.dataMutSync((v) => v), 'ERR_NOT_CLONEABLE');
          expect(r.real.callSync('get')).to.equal(r.obj.value);
        } else if (r.obj.kind === 'plain') {
          r.real.dataMutSync((v: { n: number }) => ({ n: v.n + op.d }));
          r.obj.value = { n: (r.obj.value as { n: number }).n + op.d };
        } else {
          r.real.dataMutSync((v: string) => `${v}${op.d}`);
          r.obj.value = `${r.obj.value as string}${op.d}`;
        }
        break;
      }
      case 'gc':
        await this.#b.heap.gc();
        this.#settle();
        await this.#checkDisposals(true);
        break;
      case 'echo': {
        const r = this.#pick(this.#live(), op.r);
        if (pool === null || r === undefined) return false;
        const back = await stores[0]!.scope(async () => {
          const got = (await pool.run('echo', r.real)) as Rooted;
          expect(ExternRef.ptrEq(got, r.real)).to.equal(true);
          return got.toManuallyRooted();
        });
        this.#addRoot(r.obj, 0, back, true);
        break;
      }
      case 'keep': {
        const r = this.#pick(this.#live(), op.r);
        if (pool === null || r === undefined) return false;
        const before = this.#count(r.obj);
        const seen = (await pool.run('keep', r.real, op.n)) as number;
        // In the worker: the counts before, its argument's root, and the n it kept.
        expect(seen, 'strongCount seen by the worker').to.equal(before + 1 + op.n);
        r.obj.workerHeld += op.n;
        break;
      }
      case 'dropKept': {
        if (pool === null) return false;
        const held = this.#objs.reduce((n, o) => n + o.workerHeld, 0);
        expect(await pool.run('dropKept')).to.equal(held);
        for (const o of this.#objs) o.workerHeld = 0;
        break;
      }
      case 'bump': {
        const r = this.#pick(
          this.#live((x) => x.obj.kind === 'plain'),
          op.r,
        );
        if (pool === null || r === undefined) return false;
        const want = (r.obj.value as { n: number }).n + op.d;
        expect(await pool.run('bump', r.real, op.d)).to.equal(want);
        r.obj.value = { n: want };
        break;
      }
      case 'concat': {
        const texts = this.#live((x) => x.obj.kind === 'text');
        const a = this.#pick(texts, op.r);
        const b = this.#pick(texts, op.q);
        if (pool === null || a === undefined || b === undefined) return false;
        const joined = await stores[0]!.scope(async () =>
          ((await pool.run('concat', a.real, b.real)) as Rooted).toManuallyRooted(),
        );
        const o = this.#newObj('text', `${a.obj.value as string}${b.obj.value as string}`, joined.toRaw());
        this.#addRoot(o, 0, joined, true);
        break;
      }
      case 'kill': {
        if (pool === null) return false;
        let failed = false;
        await pool.run('die').catch(() => (failed = true));
        expect(failed, 'a task whose worker dies fails').to.equal(true);
        for (const o of this.#objs) o.workerHeld = 0;
        // The dead worker's counts are given back by the coordinator when it sees the thread
        // go; that happens on another thread, so wait for the heap to agree with the model.
        this.#settle();
        await waitUntil(
          () => this.#mismatches().length === 0,
          () => this.#mismatches().join('; '),
        );
        break;
      }
    }
    return true;
  }

  // ---- checks --------------------------------------------------------------------------------

  /** What differs between the heap and the model now (empty when they agree). */
  #mismatches(): string[] {
    const out: string[] = [];
    const store = this.#b.stores[0]!;
    for (const o of this.#objs) {
      const want = this.#count(o);
      if (o.dead) {
        // Never revived, never observed: a dead object's handle resolves nowhere (I1, I2).
        let revived = false;
        try {
          const r = ExternRef.fromRawManuallyRooted(store, o.raw);
          if (r !== null) {
            revived = true;
            r.unroot();
          }
        } catch (err) {
          if ((err as { code?: string }).code !== 'ERR_INVALID_HANDLE') throw err;
        }
        if (revived) out.push(`object ${o.id} is dead in the model but fromRaw resolved it`);
        continue;
      }
      const r = this.#roots.find((x) => x.live && x.obj === o);
      let got: number;
      if (r !== undefined) got = r.real.strongCount();
      else {
        // No root on this thread: probe with a temporary one.
        const probe = ExternRef.fromRawManuallyRooted(store, o.raw);
        if (probe === null) throw new Error('unreachable: raw handles are never 0');
        got = probe.strongCount() - 1;
        probe.unroot();
      }
      if (got !== want) out.push(`object ${o.id} (${o.kind}): strongCount ${got}, model ${want}`);
      if (r !== undefined && o.kind !== 'tracked') {
        const v = r.real.dataSync();
        if (JSON.stringify(v) !== JSON.stringify(o.value))
          out.push(`object ${o.id}: data ${JSON.stringify(v)}, model ${JSON.stringify(o.value)}`);
      }
    }
    for (const r of this.#roots)
      if (!r.live && r.real.isRooted) out.push(`a released root of object ${r.obj.id} says it is rooted`);
    return out;
  }

  check(op: Op): void {
    expect(this.#mismatches().join('\n'), `heap and model differ after ${JSON.stringify(op)}`).to.equal('');
  }

  /** The disposal log: only dead objects, each at most once; with `complete`, every dead tracked one. */
  async #checkDisposals(complete: boolean): Promise<void> {
    const entries = ((await this.#b.log.call('entries')) as number[]).filter((id) => id >= this.#firstId);
    expect(new Set(entries).size, `disposed twice: ${JSON.stringify(entries)}`).to.equal(entries.length);
    const dead = new Set(this.#objs.filter((o) => o.dead && o.kind === 'tracked').map((o) => o.id));
    for (const id of entries) expect(dead.has(id), `object ${id} disposed while the model holds it`).to.equal(true);
    if (complete) expect([...entries].sort((a, b) => a - b)).to.deep.equal([...dead].sort((a, b) => a - b));
    if (complete) {
      const st = this.#b.heap.stats();
      const deadAll = this.#objs.filter((o) => o.dead).length;
      expect(st.disposed - this.#base.disposed, 'values disposed since the sequence began').to.equal(deadAll);
    }
  }

  /** Releases everything the sequence holds (also after a failure, so the next one starts clean). */
  async releaseAll(): Promise<void> {
    for (const stack of this.#scopes) {
      while (stack.length > 0) {
        const s = stack.pop()!;
        s.real.close();
        for (const r of s.roots) r.live = false;
      }
    }
    for (const r of this.#roots) {
      if (r.live && r.manual) {
        (r.real as ManuallyRooted).unroot();
        r.live = false;
      }
    }
    for (const w of this.#owned.splice(0)) ExternRef.fromOwnedRaw(this.#b.stores[w.store]!, w.raw)!.unroot();
    if (this.#b.pool !== null && this.#objs.some((o) => o.workerHeld > 0)) {
      await this.#b.pool.run('dropKept');
      for (const o of this.#objs) o.workerHeld = 0;
    }
    this.#settle();
    await this.#b.heap.gc();
  }

  /** After releasing all: every object dead and disposed exactly once, the heap as before. */
  async checkEnd(): Promise<void> {
    expect(this.#objs.every((o) => o.dead)).to.equal(true);
    expect(this.#mismatches().join('\n'), 'heap and model differ at the end').to.equal('');
    await this.#checkDisposals(true);
    const st = this.#b.heap.stats();
    expect(st.live, 'live objects after the sequence').to.equal(this.#base.live);
    expect(st.created - this.#base.created, 'values created by the sequence').to.equal(this.#objs.length);
    await this.#b.log.call('clear'); // checked: the next sequence reads only its own disposals
  }
}

function expectCode(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect((caught as { code?: unknown } | undefined)?.code, `expected ${code}`).to.equal(code);
}

async function waitUntil(ok: () => boolean, why: () => string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`heap and model still differ after ${ms} ms: ${why()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
