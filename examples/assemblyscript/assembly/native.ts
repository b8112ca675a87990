/**
 * Native ABI guest: host objects arrive as `externref` and are kept in globals.
 *
 * Each reference the guest keeps holds its object alive (one count, owned by the reference),
 * until the guest overwrites it and V8 collects the old reference, or the store closes.
 * `Array<externref>` does not compile in AssemblyScript, so a guest keeps references in globals
 * (or in a Wasm table through `table.get`/`table.set` builtins), never in its linear memory.
 *
 * Build: asc native.ts --enable reference-types --bindings raw (see ../build.mjs).
 */

/** The host makes a host string (a new object, one count for the guest's reference). */
@external("host", "make")
declare function make(text: externref, n: i32): externref;

/** The host reads a host string's length. */
@external("host", "length")
declare function length(r: externref): i32;

let first: externref = null;
let second: externref = null;

/** A reference the host reads and writes itself (`instance.getGlobal("current")`). */
export let current: externref = null;

/** Keeps `r` in the first slot; the object it held before is released once V8 collects it. */
export function keep(r: externref): void {
  first = r;
}

/** Moves the first slot's reference to the second and clears the first. */
export function shift(): void {
  second = first;
  first = null;
}

/** The reference in the first slot, or null. */
export function kept(): externref {
  return first;
}

/** The reference in the second slot, or null. */
export function keptSecond(): externref {
  return second;
}

/** Asks the host for a new object from `base` and keeps it in the first slot; returns its length. */
export function keepNew(base: externref, n: i32): i32 {
  first = make(base, n);
  return length(first);
}

/** Moves `current` into the first slot. */
export function takeCurrent(): void {
  first = current;
  current = null;
}

/** Drops every reference it keeps. */
export function clear(): void {
  first = null;
  second = null;
  current = null;
}

/** Plain AssemblyScript with strings, for the JS glue of `--bindings` to convert. */
export function greet(name: string): string {
  return "Hello, " + name + "!";
}
