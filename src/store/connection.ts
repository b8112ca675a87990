/**
 * A store's link to the coordinator: synchronous calls over the mailbox, asynchronous calls over
 * comlink, and the batched posting of new values.
 *
 * The store's thread only. `ExternRef.new` does not wait for the coordinator: it queues the
 * value here and the queue is posted as one message at the next microtask, before any request
 * this store sends (but a slot grant), or when a handle leaves the thread (`toRaw`, `intoRaw`,
 * `sharedref.clone`, a typed call's handle argument, a transfer). The coordinator answers
 * a read of a value that has not arrived yet by waiting for it, so batching never changes what a
 * reader sees. A value whose object dies while queued is not posted at all (see `flush`).
 * Rejected: one message per value, which costs a cross-thread wake-up per `new`.
 */
import { receiveMessageOnPort } from 'node:worker_threads';
import { CoordinatorDiedError, HeapClosedError, InternalError, StoreClosedError, deserializeError } from '../errors';
import { asNotCloneable } from '../internal/clone-failure';
import type { RawHandle } from '../shared/handle';
import type { ControlMessage, CoordinatorApi, ReplyMessage, StorePorts, SyncOp } from '../rpc/protocol';
import { RpcClient } from '../rpc/endpoint';
import { isHeapClosed } from '../shared/header';
import { mailboxArm, mailboxWait } from '../shared/mailbox';

/**
 * The queue's first size. When it is full, the entries of objects that died while queued are
 * dropped (`#compact`), and it doubles if more than half of it is still alive; nothing is posted
 * then. So a long synchronous call (a Wasm loop whose host results live until it returns) never
 * posts values that are still alive and will die unposted, and its cost per value does not
 * change with its length. What bounded the queue before (a flush at 4096, which sent live
 * temporaries to the coordinator to be collected there: the seed loop cost 700–790 ns per host
 * call at 2100 iterations per call against ~520 at 2000) was also what bounded how long a reader
 * on another thread could wait for a value; every path by which a handle leaves this thread now
 * posts first instead (see `Connection.flush` callers: `toRaw`, `intoRaw`, `sharedref.clone`, a
 * typed call's handle argument, transfers).
 */
const QUEUE_START = 4096;

type AnyFn = (...args: never[]) => unknown;
type Result<K extends SyncOp> = CoordinatorApi[K] extends AnyFn ? Awaited<ReturnType<CoordinatorApi[K]>> : never;
type Args<K extends SyncOp> = CoordinatorApi[K] extends AnyFn ? Parameters<CoordinatorApi[K]> : never;

/**
 * Every open connection on this thread. A thread that blocks in a synchronous call first posts
 * the queued values of all of them: the value it waits for may sit in another store's queue on
 * this very thread, which could not post it while the thread is blocked.
 */
const threadConnections = new Set<Connection>();

function flushThread(): void {
  for (const c of threadConnections) c.flush();
}

/** A structured clone's failure on the way out, as `ERR_NOT_CLONEABLE` naming the operation. */
function notCloneable(op: string, err: unknown): unknown {
  return asNotCloneable(`${op} arguments`, err);
}

/** The store's side of its three ports. */
export class Connection {
  readonly #i32: Int32Array;
  readonly #mailbox: number;
  readonly #ports: StorePorts;
  readonly rpc: RpcClient<CoordinatorApi>;
  #putHandles = new Uint32Array(QUEUE_START);
  #putValues: unknown[] = [];
  readonly #beforePost: (handle: RawHandle) => boolean;
  readonly #gone: (handle: RawHandle) => boolean;
  #flushScheduled = false;
  #closed = false;
  /** The operation of a request posted by `begin` whose reply nobody has read yet. */
  #pendingOp: SyncOp | null = null;
  /** The reply of that request, once read (by `finish`, or by a `sync` that had to go first). */
  #early: { readonly op: SyncOp; readonly reply: ReplyMessage } | null = null;

  /**
   * `beforePost(handle)` says whether a queued value is still to be posted, just before it is (see
   * `flush`); `gone(handle)` whether it never will be (its object died and nobody waits for it).
   */
  constructor(
    i32: Int32Array,
    mailboxWord: number,
    ports: StorePorts,
    beforePost: (handle: RawHandle) => boolean,
    gone: (handle: RawHandle) => boolean,
  ) {
    this.#i32 = i32;
    this.#beforePost = beforePost;
    this.#gone = gone;
    this.#mailbox = mailboxWord;
    this.#ports = ports;
    ports.control.unref();
    ports.reply.unref();
    // The rpc port closes when this store closes or the coordinator is gone (its thread exited,
    // or the heap closed): either way the pending calls learn which, with its code (I8).
    this.rpc = new RpcClient<CoordinatorApi>(ports.rpc, () =>
      this.#closed && !isHeapClosed(this.#i32)
        ? new StoreClosedError('the pending call')
        : new HeapClosedError('the pending call'),
    );
    threadConnections.add(this);
  }

  /** True when values are queued but not yet posted. */
  get hasQueued(): boolean {
    return this.#putValues.length > 0;
  }

  /** Throws ERR_HEAP_CLOSED / ERR_STORE_CLOSED if this link can no longer be used. */
  ensureOpen(what: string): void {
    // Before every root operation: kept small (see roots.ts `unrooted`).
    if (isHeapClosed(this.#i32) || this.#closed) this.#refuse(what);
  }

  #refuse(what: string): never {
    if (isHeapClosed(this.#i32)) throw new HeapClosedError(what);
    throw new StoreClosedError(what);
  }

  /** Queues the value of the new object `handle` for the coordinator (no round trip). */
  post(handle: RawHandle, value: unknown): void {
    const n = this.#putValues.length;
    if (n === this.#putHandles.length) this.#compact();
    this.#putHandles[this.#putValues.length] = handle;
    this.#putValues.push(value);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /**
   * The queue is full: drops the entries of objects that died while queued (their values will
   * never be posted), keeping the order of the rest, and doubles the queue if more than half of it
   * is still alive, so that each value is looked at a bounded number of times. Nothing is posted:
   * a live value is reached by other threads only through a path that posts first.
   */
  #compact(): void {
    const values = this.#putValues;
    const handles = this.#putHandles;
    let n = 0;
    for (let k = 0; k < values.length; k++) {
      const handle = handles[k]! as RawHandle; // queued by `post`
      if (this.#gone(handle)) continue;
      handles[n] = handle;
      values[n] = values[k];
      n++;
    }
    values.length = n;
    if (n > handles.length >>> 1) {
      const bigger = new Uint32Array(handles.length * 2);
      bigger.set(handles.subarray(0, n));
      this.#putHandles = bigger;
    }
  }

  /**
   * Posts queued values now, except those whose object died while queued (`beforePost` says
   * which): its count reached 0, which is terminal (I2), so no thread can ask for the value any
   * more, and its slot is freed without it (by the coordinator, or recycled by this store). A
   * clone has no disposer to run (I3). One that a request accepted while the object lived still
   * waits for is posted, and the request is answered with it. In a CPU profile of the host-string
   * workload, posting was ~12% of the worker's time.
   */
  flush(): void {
    this.#flushScheduled = false;
    const values = this.#putValues;
    if (values.length === 0 || this.#closed) return;
    this.#putValues = [];
    const handles = this.#putHandles;
    let n = 0;
    for (let k = 0; k < values.length; k++) {
      const handle = handles[k]! as RawHandle; // queued by `post`
      if (!this.#beforePost(handle)) continue;
      handles[n] = handle;
      values[n] = values[k];
      n++;
    }
    if (n === 0) return;
    values.length = n;
    this.#send({ t: 'put', handles: handles.slice(0, n), values });
  }

  #send(msg: ControlMessage): void {
    this.#ports.control.postMessage(msg);
  }

  /** Runs `op` on the coordinator and blocks this thread until it answers. */
  sync<K extends SyncOp>(op: K, ...args: Args<K>): Result<K> {
    this.begin(op, ...args);
    return this.finish(op);
  }

  /**
   * Posts the synchronous request `op` without waiting for its answer; `finish(op)` collects it.
   * The store prefetches its next slot batch this way, so the grant's round trip (which queues
   * behind the values this thread posted) overlaps with its work. One request is outstanding
   * per mailbox: a `begin` while one is pending first reads that one's reply and keeps it.
   */
  begin<K extends SyncOp>(op: K, ...args: Args<K>): void {
    this.ensureOpen(op);
    if (this.#pendingOp !== null) {
      // Only the store's batch prefetch is left pending, and never twice (see SlotBatch.take).
      if (this.#early !== null) throw new InternalError(`${op}: two requests left pending`);
      this.#early = this.#await(this.#pendingOp);
    }
    // Queued values go first, so that the coordinator sees them before this request, and so
    // that nobody waits on them while this thread is blocked. Not for a slot grant, which reads
    // no value and whose wait is short: its values may then still die unposted.
    if (op !== 'grant') flushThread();
    mailboxArm(this.#i32, this.#mailbox);
    try {
      this.#send({ t: 'sync', op, args: args as unknown[] });
    } catch (err) {
      throw notCloneable(op, err);
    }
    this.#pendingOp = op;
  }

  /** True while a request posted by `begin(op)` has not been collected by `finish(op)`. */
  pending(op: SyncOp): boolean {
    return this.#pendingOp === op || this.#early?.op === op;
  }

  /** The answer to the request `begin(op)` posted, blocking until it arrives. */
  finish<K extends SyncOp>(op: K): Result<K> {
    let reply: ReplyMessage;
    if (this.#early !== null && this.#early.op === op) {
      reply = this.#early.reply;
      this.#early = null;
    } else if (this.#pendingOp === op) {
      reply = this.#await(op).reply;
    } else {
      throw new InternalError(`${op}: no request of this kind is pending`);
    }
    if (reply.ok) return reply.value as Result<K>;
    throw deserializeError(reply.error);
  }

  /** Waits for the reply of the pending request `op` and reads it. */
  #await(op: SyncOp): { op: SyncOp; reply: ReplyMessage } {
    this.#pendingOp = null;
    if (!mailboxWait(this.#i32, this.#mailbox)) throw new HeapClosedError(op);
    let got: { message: unknown } | undefined;
    try {
      got = receiveMessageOnPort(this.#ports.reply);
    } catch (err) {
      throw asNotCloneable(`${op} reply`, err); // one this thread cannot deserialize (too deep)
    }
    if (got === undefined) {
      throw new CoordinatorDiedError(`${op}: the coordinator signalled but sent no reply`);
    }
    return { op, reply: got.message as ReplyMessage };
  }

  /** Runs `op` on the coordinator asynchronously (comlink). */
  call<K extends SyncOp>(op: K, ...args: Args<K>): Promise<Result<K>> {
    try {
      this.ensureOpen(op);
    } catch (err) {
      return Promise.reject(err);
    }
    this.flush();
    return (this.rpc.call(op, ...(args as never)) as Promise<Result<K>>).catch((err: unknown) => {
      throw notCloneable(op, err);
    });
  }

  /**
   * Says goodbye and waits until the coordinator has released everything this store held and
   * freed its region, then closes the ports. When the heap is closed (or the coordinator gone) it
   * only closes the ports.
   */
  close(makeError: () => unknown): void {
    if (this.#closed) return;
    this.flush();
    if (!isHeapClosed(this.#i32)) {
      try {
        this.sync('bye');
      } catch {
        // the heap closed meanwhile, or the coordinator is gone: its cleanup covers this store
      }
    }
    this.#closed = true;
    threadConnections.delete(this);
    this.rpc.close(makeError);
    this.#ports.control.close();
    this.#ports.reply.close();
  }
}
