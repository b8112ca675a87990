/**
 * How deep a value may nest to cross threads: `MAX_DEPTH` levels of objects. Any thread.
 *
 * A structured clone between threads recurses once per level on the native stack, on both sides,
 * and how deep it gets depends on how much stack is left where it runs: `structuredClone` on the
 * caller's thread may pass a value that `postMessage` later fails to serialize (a batched post
 * from a microtask: an uncaught `RangeError`), or that the receiving thread fails to deserialize
 * (its port drops the message: the task or call waits forever). Measured on Node 20 here: a
 * queued pool task lost its message at 2 000 levels of arrays; 1 800 always crossed. So every
 * value that enters the heap or crosses threads is checked against one limit with room to spare,
 * and refused with `ERR_NOT_CLONEABLE` naming where it goes too deep.
 *
 * Rejected: catching the failure where it happens. The sender's failure surfaces inside a batched
 * post far from the `new` that made the value, and the receiver's is silent.
 */
import { NotCloneableError } from '../errors';

/** Levels of nested objects a value may have (the top object is level 1). */
export const MAX_DEPTH = 1000;

/** Objects a structured clone copies whole (no children that could nest). */
function isLeafObject(x: object): boolean {
  return ArrayBuffer.isView(x) || x instanceof ArrayBuffer || x instanceof SharedArrayBuffer || x instanceof Date;
}

/**
 * Throws `ERR_NOT_CLONEABLE` (naming `what` and the path to the first object too deep) if `value`
 * nests more than `MAX_DEPTH` objects. Linear in the value's size; a shared or cyclic object is
 * visited once. A value without nested objects costs one loop over its own properties. Objects
 * for which `isLeaf` is true (roots, which travel as references) are not looked into.
 */
export function checkDepth(value: unknown, what: string, isLeaf?: (x: object) => boolean): void {
  if (typeof value !== 'object' || value === null) return;
  let seen: Set<object> | null = null;
  const stack: { x: object; depth: number; parent: number; key: string }[] = [];
  const trail: { parent: number; key: string }[] = []; // for naming the path, one entry per visit
  stack.push({ x: value, depth: 1, parent: -1, key: '' });
  while (stack.length > 0) {
    const { x, depth, parent, key } = stack.pop()!;
    const at = trail.push({ parent, key }) - 1;
    if (depth > MAX_DEPTH) {
      throw new NotCloneableError(
        `${what} at ${pathFrom(trail, at)}`,
        new RangeError(`it nests more than ${MAX_DEPTH} objects deep`),
        'a message this deep can fail or be lost between threads',
      );
    }
    const visit = (child: unknown, step: string): void => {
      if (typeof child !== 'object' || child === null || isLeafObject(child) || isLeaf?.(child) === true) return;
      seen ??= new Set([value]);
      if (seen.has(child)) return;
      seen.add(child);
      stack.push({ x: child, depth: depth + 1, parent: at, key: step });
    };
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) visit(x[i], `[${i}]`);
    } else if (x instanceof Map) {
      let i = 0;
      for (const [k, v] of x) {
        visit(k, `<map key ${i}>`);
        visit(v, `<map value ${i++}>`);
      }
    } else if (x instanceof Set) {
      let i = 0;
      for (const v of x) visit(v, `<set item ${i++}>`);
    } else if (!isLeafObject(x)) {
      for (const k of Object.keys(x)) visit((x as Record<string, unknown>)[k], `.${k}`);
    }
  }
}

function pathFrom(trail: readonly { parent: number; key: string }[], at: number): string {
  const steps: string[] = [];
  for (let n = at; n >= 0 && trail[n]!.parent >= 0; n = trail[n]!.parent) steps.push(trail[n]!.key);
  steps.reverse();
  const shown = steps.length > 8 ? [...steps.slice(0, 4), '…', ...steps.slice(-3)] : steps;
  return `value${shown.join('')} (${steps.length} levels down)`;
}
