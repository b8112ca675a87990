/**
 * How sharedref's own modules reach a store's internal core (src/store/core.ts) from its public
 * façade. Any thread.
 *
 * This module is internal: the package entries (src/index.ts, src/worker.ts) never re-export it,
 * and the published declarations leave it out, so a user holding a `Store` cannot reach its core
 * (piscina's `symbols.ts`, undici's `kClose`). Rejected: `_`-prefixed members on the public
 * classes (the first design), which every sibling module reached into and which shipped in the
 * published `.d.ts` as an accidental second API.
 */
import type { StoreCore } from '../store/core';

/** The key of a `Store`'s core. */
export const kCore: unique symbol = Symbol('sharedref.core');

/** A value that may be a store: its core, if it has one. */
interface MaybeStore {
  readonly [kCore]?: StoreCore;
}

/** The core of `store`, or undefined when `store` is not a `Store` (any value may arrive here). */
export function maybeCoreOf(store: unknown): StoreCore | undefined {
  return typeof store === 'object' && store !== null ? (store as MaybeStore)[kCore] : undefined;
}
