/**
 * The store layer's internal API, for sharedref's own sibling modules (the pool, the Wasm
 * embedding, the heap): a store's core, and a root's core, slot and handle. Any thread.
 *
 * Internal: the package entries never re-export this module, and its names are left out of the
 * published declarations. Siblings use these named operations instead of reaching into the
 * fields of `Store` or the root classes.
 */
import { InvalidHandleError } from '../errors';
import type { RawHandle, SlotIndex } from '../shared/handle';
import { kCore } from '../internal/keys';
import type { StoreCore } from './core';
import type { RootBase, RootScope } from './roots';
import type { Store } from './store';

export { maybeCoreOf } from '../internal/keys';
export type { StoreCore } from './core';
export type { StoreLink } from './link';

/** The core of `store` (a `Store` the type system vouches for; `maybeCoreOf` for any value). */
export function coreOf(store: Store): StoreCore {
  return store[kCore];
}

/** The core of the store `root` belongs to. */
export function rootCore(root: RootBase): StoreCore {
  return root._core;
}

/** The raw handle `root` holds (no checks, no flush: for conversions on a hot path that check first). */
export function rootHandle(root: RootBase): RawHandle {
  return root._handle;
}

/** The slot index of the object `root` holds. */
export function rootIndex(root: RootBase): SlotIndex {
  return root._index;
}

/** Throws what a use of `root` by `what` would throw (dropped, store closed, forged, stale). */
export function checkRoot(root: RootBase, what: string): void {
  root._check(what);
}

/** Makes a closed scope current again, empty, for its next use (a host import reuses one per call). */
export function reopenScope(scope: RootScope): void {
  scope._reopen();
}

/** The reference count of the object the raw `handle` names now; ERR_INVALID_HANDLE if none. */
export function strongCount(store: Store, handle: number): number {
  const slots = store[kCore].slots;
  const index = slots.check(handle);
  if (index < 0) throw new InvalidHandleError(handle);
  return slots.count(index);
}
