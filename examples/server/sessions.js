/**
 * Sessions: one host string per session, held by the main thread as a `ManuallyRooted` reference.
 *
 * Main thread only. A session's content is an immutable string in the heap; an append runs in a
 * pool worker (Wasm joins the old string and the new text into a new reference) and then swaps
 * the session's root: the new one is kept, the old one unrooted. The next collection disposes the
 * old string. Mutating one value in place with `dataMut` was the alternative; the swap was chosen
 * because it is what the seed's concat does, and because readers holding the old reference keep a
 * consistent value.
 *
 * Appends to one session run one at a time (a promise chain per session), so none is lost. A
 * session expires when it has not been used for `ttlMs`; one in use never expires. Removing a
 * session (expiry or DELETE) only unroots it: `collect()` runs the collection that disposes it.
 */
'use strict';
const { randomUUID } = require('node:crypto');
const { ExternRef, GcHeapOutOfMemory } = require('sharedref');

const noop = () => undefined;

class Sessions {
  #heap;
  #pool;
  #ttlMs;
  /** id → { id, root: ManuallyRooted, expiresAt, busy, queue, removed } */
  #byId = new Map();
  /** Roots given up since the last collection. */
  #garbage = 0;

  constructor(heap, pool, { ttlMs }) {
    this.#heap = heap;
    this.#pool = pool;
    this.#ttlMs = ttlMs;
  }

  get size() {
    return this.#byId.size;
  }

  /** A new session holding `content`, with `id` (default: a random UUID); null if that id is taken. */
  async create(content, id = randomUUID()) {
    if (this.#byId.has(id)) return null;
    const root = await this.#newRoot(content);
    if (this.#byId.has(id)) {
      // Taken by another create while this one waited for a collection.
      root.unroot();
      this.#garbage++;
      return null;
    }
    const session = { id, root, expiresAt: 0, busy: 0, queue: Promise.resolve(), removed: false };
    this.#touch(session);
    this.#byId.set(session.id, session);
    return { id: session.id, handle: root.toRaw() };
  }

  /** The session's content, or null if there is no such session. */
  read(id) {
    return this.#use(id, (session) =>
      this.#heap.store.scope(async () => {
        // A count of our own for the read: an append may swap and unroot session.root meanwhile.
        const ref = session.root.toRooted();
        return { id, handle: ref.toRaw(), content: await ref.data() };
      }),
    );
  }

  /** Appends `text` through Wasm in a pool worker; null if there is no such session. */
  append(id, text) {
    return this.#use(id, (session) => {
      const step = session.queue.then(() => this.#appendNow(session, text));
      session.queue = step.then(noop, noop);
      return step;
    });
  }

  /** Unroots the session; false if there was none. */
  remove(id) {
    const session = this.#byId.get(id);
    if (session === undefined) return false;
    this.#drop(session);
    return true;
  }

  /** Unroots every session not used for `ttlMs` and not in use now; returns how many. */
  expire(now = Date.now()) {
    let n = 0;
    for (const session of this.#byId.values()) {
      if (session.busy === 0 && session.expiresAt <= now) {
        this.#drop(session);
        n++;
      }
    }
    return n;
  }

  /** Collects if any root was given up since the last collection; the heap's report, or null. */
  async collect() {
    if (this.#garbage === 0) return null;
    this.#garbage = 0;
    return this.#heap.gc();
  }

  /** Unroots every session (shutdown). */
  clear() {
    for (const session of this.#byId.values()) this.#drop(session);
  }

  async #appendNow(session, text) {
    if (session.removed) return null; // deleted or expired while waiting its turn
    return this.#heap.store.scope(async () => {
      // session.root travels as a transfer with a count of its own; ours stays as it is.
      const { ref, length } = await this.#pool.run('append', session.root, text);
      if (session.removed) {
        this.#garbage++; // ref is released when this scope ends
        return null;
      }
      const old = session.root;
      session.root = ref.toManuallyRooted();
      old.unroot();
      this.#garbage++;
      return { id: session.id, handle: session.root.toRaw(), length };
    });
  }

  async #use(id, fn) {
    const session = this.#byId.get(id);
    if (session === undefined) return null;
    session.busy++;
    this.#touch(session);
    try {
      return await fn(session);
    } finally {
      session.busy--;
      this.#touch(session);
    }
  }

  #touch(session) {
    session.expiresAt = Date.now() + this.#ttlMs;
  }

  #drop(session) {
    session.removed = true;
    this.#byId.delete(session.id);
    session.root.unroot();
    this.#garbage++;
  }

  /** A manual root of `value`; a full heap is collected once, and the value handed back is retried. */
  async #newRoot(value) {
    const store = this.#heap.store;
    try {
      return ExternRef.newManuallyRooted(store, value);
    } catch (err) {
      if (!(err instanceof GcHeapOutOfMemory)) throw err;
      await this.#heap.gc();
      return ExternRef.newManuallyRooted(store, err.intoInner()); // still full: the caller answers 503
    }
  }
}

module.exports = { Sessions };
