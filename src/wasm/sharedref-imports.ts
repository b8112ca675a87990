/**
 * The import module `sharedref`: what a raw-ABI guest calls to keep a handle past a call.
 *
 * The thread of the linker's store. `drop` also gives back a count that a host function returned
 * to the guest in the current call (call-frames.ts), when the guest holds no clone of the handle:
 * a guest loop that drops what it gets runs in constant space. Counts taken with `clone` belong
 * to that store, kept under
 * the raw number as `ManuallyRooted#intoRaw` keeps them, so they are released when the store
 * closes or its thread dies (I4), and `drop` of a number this store never cloned traps instead of
 * releasing a count twice (I6). Handles arrive as `i32` (signed): each is read as a `u32`.
 *
 * Rejected: giving the guest a count the host does not record (a bare increment): a guest whose
 * worker died would then leak every handle it kept.
 */
import { ExternRef } from '../store/extern-ref';
import type { Store } from '../store/store';
import { coreOf, strongCount } from '../store/internal';
import { framesOf } from './call-frames';
import type { FuncType } from './binary-types';
import { hostTrap } from './traps';

/** The functions of the import module `sharedref` and their types. */
export const SHAREDREF_IMPORTS: Readonly<Record<string, FuncType>> = Object.freeze({
  clone: { params: ['i32'], results: ['i32'] },
  drop: { params: ['i32'], results: [] },
  eq: { params: ['i32', 'i32'], results: ['i32'] },
  is_null: { params: ['i32'], results: ['i32'] },
  strong_count: { params: ['i32'], results: ['i32'] },
});

/** The function `name` of the module `sharedref`, bound to `store`, or undefined if there is none. */
export function sharedrefImport(store: Store, name: string): ((...args: number[]) => number | void) | undefined {
  const guard =
    <A extends number[], R>(f: (...a: A) => R) =>
    (...a: A): R => {
      try {
        return f(...a);
      } catch (err) {
        throw hostTrap(`sharedref.${name}`, err);
      }
    };
  if (!Object.hasOwn(SHAREDREF_IMPORTS, name)) return undefined;
  switch (name) {
    case 'clone':
      // A count owned by this store, kept under the raw number (Wasmtime's `into_raw`), which
      // posts this store's queued values: the guest may publish the number to another thread.
      return guard((h: number) => {
        const raw = h >>> 0;
        if (raw === 0) return 0;
        ExternRef.fromRawManuallyRooted(store, raw)!.intoRaw();
        return h;
      });
    case 'drop': {
      // Gives back a count taken with clone, else the newest count a host function returned for
      // `h` in the current call; a handle the guest holds neither for traps. Clones first: a guest
      // that clones a result to keep it and drops the handle later means the clone.
      const core = coreOf(store);
      const frames = framesOf(core);
      return guard((h: number) => {
        const raw = h >>> 0;
        if (raw === 0) return;
        if (core.ownsRaw(raw) || !frames.drop(raw)) ExternRef.fromOwnedRaw(store, raw)!.unroot();
      });
    }
    case 'eq':
      return guard((a: number, b: number) => (a >>> 0 === b >>> 0 ? 1 : 0));
    case 'is_null':
      return guard((h: number) => (h >>> 0 === 0 ? 1 : 0));
    default: // strong_count
      return guard((h: number) => {
        return strongCount(store, h >>> 0);
      });
  }
}
