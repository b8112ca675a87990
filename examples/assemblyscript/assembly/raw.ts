/**
 * Raw ABI guest: host objects arrive as `u32` handles and are kept in a `Map<u32, u32>`.
 *
 * A handle the guest receives is valid for the call; `put` takes a count of its own with
 * `sharedref.clone`, `remove` gives it back with `sharedref.drop`. A handle is a plain number, so
 * it can live in any data structure of the guest's (unlike an `externref`). Counts belong to the
 * store the guest runs on, so the host can see them (`strongCount`), and they are released if that
 * store closes.
 *
 * Build: asc raw.ts (see ../build.mjs); no reference types needed.
 */
import { clone, drop, eq, is_null, strong_count } from "sharedref/assembly";

/** The host concatenates two host strings into a new one (its handle is valid for this call). */
@external("host", "concat")
declare function concat(a: u32, b: u32): u32;

const held = new Map<u32, u32>();

/** Keeps `h` under `key` (taking a count); the handle kept there before is dropped. */
export function put(key: u32, h: u32): void {
  if (held.has(key)) drop(held.get(key));
  held.set(key, is_null(h) ? 0 : clone(h));
}

/** The handle kept under `key`, or 0. Valid while it is kept. */
export function get(key: u32): u32 {
  return held.has(key) ? held.get(key) : 0;
}

/** Drops the handle kept under `key`; false if there was none. */
export function remove(key: u32): bool {
  if (!held.has(key)) return false;
  drop(held.get(key));
  held.delete(key);
  return true;
}

/** How many handles the guest keeps. */
export function size(): i32 {
  return held.size;
}

/** The count of the object kept under `key`, in every thread. */
export function strongCount(key: u32): u32 {
  return strong_count(get(key));
}

/** Whether the handles under two keys name the same object. */
export function same(a: u32, b: u32): bool {
  return eq(get(a), get(b));
}

/** Keeps `concat(get(a), get(b))` under `out`. */
export function concatInto(a: u32, b: u32, out: u32): void {
  put(out, concat(get(a), get(b)));
}

/** Drops every handle it keeps. */
export function clear(): void {
  const keys = held.keys();
  for (let i = 0; i < keys.length; i++) drop(held.get(keys[i]));
  held.clear();
}
