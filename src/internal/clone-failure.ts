/**
 * What a failed structured clone looks like when it surfaces from `postMessage` (a store's call,
 * a pool task's arguments), so that each becomes `ERR_NOT_CLONEABLE` naming the operation. Any
 * thread.
 *
 * V8 and Node fail a clone three ways: a `DataCloneError` (a function, a symbol, a WeakMap); a
 * `TypeError` with code `ERR_MISSING_TRANSFERABLE_IN_TRANSFER_LIST` (a `MessagePort` not listed
 * as transferred: sharedref transfers nothing); and a `RangeError` for a value nested deeper than
 * the serializer's stack allows.
 */
import { NotCloneableError } from '../errors';

/** True if `err` is a structured clone's failure (see above). */
export function isCloneFailure(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  if (e.name === 'DataCloneError' || e.code === 'ERR_MISSING_TRANSFERABLE_IN_TRANSFER_LIST') return true;
  return err instanceof RangeError && /call stack/i.test(String(e.message));
}

/** `err` as `ERR_NOT_CLONEABLE` for `what` if it is a clone's failure, else `err` itself. */
export function asNotCloneable(what: string, err: unknown): unknown {
  if (!isCloneFailure(err)) return err;
  const hint =
    err instanceof RangeError
      ? 'it is nested too deeply to be cloned'
      : (err as { code?: unknown }).code === 'ERR_MISSING_TRANSFERABLE_IN_TRANSFER_LIST'
        ? 'a MessagePort cannot be sent as data (send it with postMessage and its transfer list)'
        : '';
  return new NotCloneableError(what, err, hint);
}
