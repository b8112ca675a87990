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
 * nests more than `MAX_DEPTH` objects. The walk goes in the order a structured clone does (depth
 * first, properties in order) and gives a shared object the depth at which the clone first meets
 * it, which is where the clone writes it out; later meetings are back-references. `top` is the
 * level of `value` itself (0 for a list of arguments, whose items are each level 1). Objects for
 * which `isLeaf` is true (roots, which travel as references) are not looked into; `isLeaf` may
 * throw to refuse one. Linear in the value's size. Reads data properties and calls getters, as a
 * clone does: check the copy that will be sent where a getter could answer differently twice.
 */
export function checkDepth(value: unknown, what: string, isLeaf?: (x: object) => boolean, top = 1): void {
  if (typeof value !== 'object' || value === null || isSmall(value, 8, { n: 64 })) return;
  const seen = new Set<object>();
  const stack: { x: object; depth: number; parent: number; key: string }[] = [];
  const trail: { parent: number; key: string }[] = []; // for naming the path, one entry per visit
  stack.push({ x: value, depth: top, parent: -1, key: '' });
  const kids: [unknown, string][] = [];
  while (stack.length > 0) {
    const { x, depth, parent, key } = stack.pop()!;
    if (seen.has(x)) continue; // met earlier in the clone's order: a back-reference
    seen.add(x);
    const at = trail.push({ parent, key }) - 1;
    if (depth > MAX_DEPTH) {
      throw new NotCloneableError(
        `${what} at ${pathFrom(trail, at)}`,
        new RangeError(`it nests more than ${MAX_DEPTH} objects deep`),
        'a message this deep can fail or be lost between threads',
      );
    }
    kids.length = 0;
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) kids.push([x[i], `[${i}]`]);
      if (Object.keys(x).length > x.length) {
        for (const k of Object.keys(x)) if (String(Number(k) >>> 0) !== k) kids.push([(x as never)[k], `.${k}`]);
      }
    } else if (x instanceof Map) {
      let i = 0;
      for (const [k, v] of x) {
        kids.push([k, `<map key ${i}>`], [v, `<map value ${i++}>`]);
      }
    } else if (x instanceof Set) {
      let i = 0;
      for (const v of x) kids.push([v, `<set item ${i++}>`]);
    } else if (!isLeafObject(x)) {
      for (const k of Object.keys(x)) kids.push([(x as Record<string, unknown>)[k], `.${k}`]);
      if (x instanceof Error && Object.hasOwn(x, 'cause')) kids.push([x.cause, '.cause']);
    }
    // Pushed last to first, so that they come off the stack in the clone's order.
    for (let k = kids.length - 1; k >= 0; k--) {
      const [child, step] = kids[k]!;
      if (typeof child !== 'object' || child === null || isLeafObject(child) || isLeaf?.(child) === true) continue;
      if (!seen.has(child)) stack.push({ x: child, depth: depth + 1, parent: at, key: step });
    }
  }
}

/**
 * True for a small value of arrays and plain objects only, a few levels deep (the common value,
 * which is then checked without the walk's allocations). `budget` counts the objects looked at;
 * anything else (a Map, a class instance, a long array) goes to the full walk.
 */
function isSmall(x: object, levels: number, budget: { n: number }): boolean {
  if (levels === 0 || --budget.n < 0) return false;
  if (Array.isArray(x)) {
    if (x.length > 64) return false;
    for (let i = 0; i < x.length; i++) {
      const v: unknown = x[i];
      if (typeof v === 'object' && v !== null && !isSmall(v, levels - 1, budget)) return false;
    }
    return Object.keys(x).length <= x.length; // no non-index properties (they could hold anything)
  }
  if (Object.getPrototypeOf(x) !== Object.prototype) return false;
  for (const k in x) {
    const v: unknown = (x as Record<string, unknown>)[k];
    if (typeof v === 'object' && v !== null && !isSmall(v, levels - 1, budget)) return false;
  }
  return true;
}

function pathFrom(trail: readonly { parent: number; key: string }[], at: number): string {
  const steps: string[] = [];
  for (let n = at; n >= 0 && trail[n]!.parent >= 0; n = trail[n]!.parent) steps.push(trail[n]!.key);
  steps.reverse();
  const shown = steps.length > 8 ? [...steps.slice(0, 4), '…', ...steps.slice(-3)] : steps;
  return `value${shown.join('')} (${steps.length} levels down)`;
}
