/**
 * The `sharedref` import module, declared for AssemblyScript guests (raw ABI).
 *
 * A raw handle is a `u32` that names one host object in every thread of a sharedref heap; `0` is
 * null. A handle a guest receives is valid for the call. To keep one longer, take a count with
 * `clone` and give it back with `drop`. Counts belong to the store (the thread) the guest runs on:
 * they are released when that thread's store closes or its thread dies, and only that store can
 * `drop` them (a `drop` of a handle it never cloned traps instead of releasing twice).
 *
 * Import it as `import { clone, drop } from "sharedref/assembly"`: asc finds installed packages
 * in node_modules (and in the folders given with `--path`). The host side needs nothing: every
 * `Linker` defines the module `sharedref` for its guests.
 *
 * A `u32` result travels to JavaScript as a signed `i32`: a handle with bit 31 set arrives
 * negative in `instance.exports`; take it with `>>> 0` (typed calls with `handle` results do).
 */

/** Takes one count of `handle`'s object for this store and returns `handle` (`0` stays `0`); traps on a stale handle. */
// @ts-ignore: decorator
@external("sharedref", "clone")
export declare function clone(handle: u32): u32;

/** Gives back one count taken with `clone` (`0` is ignored); traps if this store holds none for `handle`. */
// @ts-ignore: decorator
@external("sharedref", "drop")
export declare function drop(handle: u32): void;

/** Whether `a` and `b` name the same object (identity, never the value). */
// @ts-ignore: decorator
@external("sharedref", "eq")
export declare function eq(a: u32, b: u32): bool;

/** Whether `handle` is the null handle `0`. */
// @ts-ignore: decorator
@external("sharedref", "is_null")
export declare function is_null(handle: u32): bool;

/** How many counts `handle`'s object has, in every thread; traps on a stale handle. */
// @ts-ignore: decorator
@external("sharedref", "strong_count")
export declare function strong_count(handle: u32): u32;
