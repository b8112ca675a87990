/**
 * Pool tasks of the shared-sessions workload on sharedref (see sharedref.ts). Pool workers.
 */
import { ExternRef, InvalidHandleError, type Rooted, type TaskContext, defineTasks } from '../../../src/worker';
import { type Session, appendEvent, eventFrom, newSession } from './workload';

/** A root of the session in `slot`, from the shared directory of raw handles. */
function lookup(ctx: TaskContext, slot: number): Rooted {
  const directory = (ctx.workerData as { directory: Int32Array }).directory;
  for (;;) {
    const raw = Atomics.load(directory, slot);
    try {
      return ExternRef.fromRaw(ctx.store, raw)!;
    } catch (err) {
      // Renewed between the load and fromRaw: the old handle is refused, never another session's
      // (I1), and the directory already holds the new one.
      if (!(err instanceof InvalidHandleError)) throw err;
    }
  }
}

module.exports = defineTasks({
  /** Reads the session in `read` (unless null) and appends an event made from it to the one in `append`. */
  append(ctx: TaskContext, read: number | null, append: number, seq: number): number {
    const seen = read === null ? null : (lookup(ctx, read).dataSync() as Session);
    const event = eventFrom(seen, seq);
    return lookup(ctx, append).dataMutSync((s: Session) => appendEvent(s, event)).hits;
  },
  /** Nothing: the dispatch alone. */
  idle(): number {
    return 0;
  },
  /** A new session for `slot`, handed to the caller. */
  renew(ctx: TaskContext, slot: number, seq: number): Rooted {
    return ExternRef.new(ctx.store, newSession(slot, seq));
  },
});
