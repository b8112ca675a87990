/**
 * Calling user code on the coordinator: finding a factory or a method by name, checking that
 * what it returns can travel, and bounding how long it may take.
 *
 * Coordinator thread only. Names are untrusted strings from other threads. A factory is an own
 * export of the host module whose value is a function; a method is a function found on the value
 * or its prototype chain below `Object.prototype`, so that names every object inherits
 * (`constructor`, `toString`, `__proto__`, `hasOwnProperty`, …) are never factories or methods
 * (`ERR_NO_SUCH_FACTORY`, `ERR_NO_SUCH_METHOD`), nor are builtins' versions of them (an array's
 * `toString`), while an array's `push` and a class's own methods (its own `toString` included)
 * are. Rejected: `value[name]` (the first design), which made `newWith('constructor')` build an
 * `Object` and handed `toString` out as a method.
 */
import type { UserCodeKind } from '../diagnostics/messages';
import { CallTimeoutError, NoSuchFactoryError, NoSuchMethodError, NotCloneableError } from '../errors';
import { typeNameOf } from '../shared/type-names';
import { checkDepth } from '../shared/depth';

type Fn = (...args: unknown[]) => unknown;

/** A piece of user code the coordinator runs: what messages, traces and the `sharedref:abandoned` event name. */
export interface UserCode {
  readonly kind: UserCodeKind;
  /** The method's or factory's name; for a disposer, its value's type name. */
  readonly name: string;
  /** The object's raw handle; 0 when there is none (a factory, a value that never reached a slot). */
  readonly handle: number;
  /** The store that asked for it; 0 for a disposer. */
  readonly storeId: number;
}

/** What errors and traces call `code`: `call("name")`, `newWith("name")`, `the async disposer of a T value`. */
export function describeUserCode(code: UserCode): string {
  switch (code.kind) {
    case 'method':
      return `call(${JSON.stringify(code.name)})`;
    case 'factory':
      return `newWith(${JSON.stringify(code.name)})`;
    case 'disposer':
      return `the async disposer of a ${code.name} value`;
  }
}

/** Names refused even where a class defines them: calling them would not be a method call. */
const NEVER_METHODS = new Set(['constructor', '__proto__']);
/** Names every object inherits: refused unless the value's own class (not a builtin) defines them. */
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));
const nativeSource = /\{\s*\[native code\]\s*\}$/;
function isNative(fn: Fn): boolean {
  return nativeSource.test(Function.prototype.toString.call(fn));
}

/** The factory `name` of `host` (its own export), or throws `ERR_NO_SUCH_FACTORY`. */
export function factoryOf(host: Readonly<Record<string, unknown>> | null, name: unknown): Fn {
  if (host !== null && typeof name === 'string' && Object.hasOwn(host, name)) {
    const fn = host[name];
    if (typeof fn === 'function') return fn as Fn;
  }
  const known =
    host === null
      ? 'no hostModule was given to Heap.create'
      : `the host module exports: ${Object.keys(host)
          .filter((k) => typeof host[k] === 'function')
          .join(', ')}`;
  throw new NoSuchFactoryError(name, known);
}

/** The method `name` of `target` (call it with `target` as `this`), or throws `ERR_NO_SUCH_METHOD`. */
export function methodOf(target: unknown, name: unknown): Fn {
  if (
    typeof name === 'string' &&
    !NEVER_METHODS.has(name) &&
    (typeof target === 'object' || typeof target === 'function') &&
    target !== null
  ) {
    for (
      let o: object | null = target;
      o !== null && o !== Object.prototype && o !== Function.prototype;
      o = Object.getPrototypeOf(o) as object | null
    ) {
      const d = Object.getOwnPropertyDescriptor(o, name);
      if (d === undefined) continue;
      if (typeof d.value !== 'function') break; // a getter or a data property: not a method
      // `toString` of an array is a builtin's, not the value's own: refused like Object.prototype's.
      if (INHERITED.has(name) && isNative(d.value as Fn)) break;
      return d.value as Fn;
    }
  }
  throw new NoSuchMethodError(name, typeNameOf(target));
}

/** Throws `ERR_NOT_CLONEABLE` (naming `what`) unless `value` can be structured-cloned. */
export function checkCloneable(value: unknown, what: string): void {
  const t = typeof value;
  if (t === 'function' || t === 'symbol') {
    throw new NotCloneableError(what, new TypeError(`a ${t} cannot be cloned`));
  }
  if (t === 'object' && value !== null) {
    checkDepth(value, what);
    try {
      structuredClone(value);
    } catch (err) {
      throw new NotCloneableError(what, err);
    }
  }
}

/**
 * `work`, or `ERR_CALL_TIMEOUT` once `ms` pass; `onAbandon(code)` is told then. `late` receives
 * what `work` resolves with after it was abandoned (an abandoned factory's value must still be
 * disposed).
 */
export function bounded<T>(
  work: Promise<T>,
  ms: number,
  code: UserCode,
  onAbandon: (code: UserCode) => void,
  late?: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let over = false;
    const timer = setTimeout(() => {
      over = true;
      onAbandon(code);
      reject(new CallTimeoutError(describeUserCode(code), ms));
    }, ms);
    work.then(
      (v) => {
        clearTimeout(timer);
        if (!over) resolve(v);
        else late?.(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!over) reject(err);
      },
    );
  });
}
