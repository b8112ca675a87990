/**
 * How sharedref's own modules reach a store's internal core (src/store/core.ts) from its public
 * façade. Any thread.
 *
 * This module is internal: the package entries (src/index.ts, src/worker.ts) never re-export it,
 * the package's `exports` map blocks deep imports of it, and the published declarations leave it
 * out, so the typed API gives a user holding a `Store` no way to its core (piscina's `symbols.ts`,
 * undici's `kClose`). Reflection still finds the key: in-process JS is trusted (see
 * docs/architecture.md, "Trust boundary"). Rejected: `_`-prefixed members on the public
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
