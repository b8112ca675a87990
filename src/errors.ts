/**
 * Errors: one class per failure, each with a stable `code`.
 *
 * Runs on every thread. Errors cross threads (coordinator → store, worker → main) as plain
 * records made by `serializeError` and are rebuilt by `deserializeError` into the same class,
 * so `err.code`, `err.name` and `err.cause` survive the trip. structuredClone alone would keep
 * `message` and `name` but drop `code` and our prototypes, which is why errors never travel raw.
 *
 * Convention (from Wasmtime's GC): using a root with the wrong store is a programmer error
 * (`ERR_CROSS_STORE`); a stale handle is an ordinary, recoverable error (`ERR_INVALID_HANDLE`).
 */

/** Every error code sharedref raises. */
export const ErrorCode = {
  /** The heap has no free slot: `GcHeapOutOfMemory`, which hands the value back. */
  GC_HEAP_OOM: 'ERR_GC_HEAP_OOM',
  /** A root used after its scope ended, or a manual root unrooted twice: `UnrootedError`. */
  UNROOTED: 'ERR_UNROOTED',
  /** A raw handle that is forged, null where a reference was needed, or names a freed object: `InvalidHandleError`. */
  INVALID_HANDLE: 'ERR_INVALID_HANDLE',
  /** A root used with another store or heap, or `fromOwnedRaw` of a handle whose count this store does not own. */
  CROSS_STORE: 'ERR_CROSS_STORE',
  /**
   * A value that cannot be structured-cloned (given to `new`, returned by `dataMut` or `call`), or a value built in
   * place read as data: `NotCloneableError`.
   */
  NOT_CLONEABLE: 'ERR_NOT_CLONEABLE',
  /** The heap is closed: `HeapClosedError`. */
  HEAP_CLOSED: 'ERR_HEAP_CLOSED',
  /** The store is closed: `StoreClosedError`. */
  STORE_CLOSED: 'ERR_STORE_CLOSED',
  /** A `dataMut` lease expired (`leaseTimeoutMs`) or was broken before its commit: `LeaseTimeoutError`. */
  LEASE_TIMEOUT: 'ERR_LEASE_TIMEOUT',
  /** The store already holds `rootsPerStore` roots. */
  ROOT_LIMIT: 'ERR_ROOT_LIMIT',
  /** Every store region is in use (`maxStores`). */
  STORE_LIMIT: 'ERR_STORE_LIMIT',
  /** `newWith` named a factory the heap's `hostModule` does not export. */
  NO_SUCH_FACTORY: 'ERR_NO_SUCH_FACTORY',
  /** `call` named a method the value does not have. */
  NO_SUCH_METHOD: 'ERR_NO_SUCH_METHOD',
  /** References sent to a task or back were released before they arrived (the sending thread died). */
  TRANSFER_LOST: 'ERR_TRANSFER_LOST',
  /** Every transfer entry is in flight (`transfers`). */
  TRANSFER_LIMIT: 'ERR_TRANSFER_LIMIT',
  /** `pool.run` named a task the worker file's `defineTasks` does not define. */
  NO_SUCH_TASK: 'ERR_NO_SUCH_TASK',
  /** The pool is closed. */
  POOL_CLOSED: 'ERR_POOL_CLOSED',
  /** A WebAssembly call trapped: `WasmTrap`, with the reason as `cause`. */
  WASM_TRAP: 'ERR_WASM_TRAP',
  /** A module imports something the linker does not define. */
  MISSING_IMPORT: 'ERR_MISSING_IMPORT',
  /** The coordinator thread exited while the heap was starting, or signalled a synchronous call without a reply. */
  COORDINATOR_DIED: 'ERR_COORDINATOR_DIED',
  /** An internal consistency check failed (a bug in sharedref). */
  INTERNAL: 'ERR_INTERNAL',
} as const;

/** One of the codes in `ErrorCode`. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error sharedref raises; `code` is stable across releases and threads. */
export class SharedRefError extends Error {
  /** The stable error code, e.g. `'ERR_INVALID_HANDLE'`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** The class name, e.g. `'GcHeapOutOfMemory'`; it survives crossing threads. */
  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * The heap had no free slot for a new value. Carries the value that could not be stored, so the
 * caller can run `heap.gc()` and retry with `intoInner()` (Wasmtime's `GcHeapOutOfMemory<T>`).
 */
export class GcHeapOutOfMemory<T = unknown> extends SharedRefError {
  readonly #inner: T;

  constructor(inner: T, capacity: number) {
    super(
      ErrorCode.GC_HEAP_OOM,
      `the heap has no free slot (capacity ${capacity}); run heap.gc() and retry with err.intoInner()`,
    );
    this.#inner = inner;
  }

  /** The value that could not be allocated, handed back unchanged. */
  intoInner(): T {
    return this.#inner;
  }
}

/** A root was used after its scope ended, or a manual root was unrooted twice. */
export class UnrootedError extends SharedRefError {
  constructor(what: string) {
    super(ErrorCode.UNROOTED, `${what}: the root is no longer rooted (its scope ended or it was unrooted)`);
  }
}

/** A raw handle that is null where a reference was needed, forged, or whose object was freed. */
export class InvalidHandleError extends SharedRefError {
  /** The handle that failed to resolve. */
  readonly handle: number;

  constructor(handle: number, why = 'it does not name a live object of this heap') {
    super(ErrorCode.INVALID_HANDLE, `invalid handle 0x${(handle >>> 0).toString(16)}: ${why}`);
    this.handle = handle >>> 0;
  }
}

/** A root of one store (or heap) was used with another. */
export class CrossStoreError extends SharedRefError {
  constructor(what: string) {
    super(ErrorCode.CROSS_STORE, `${what}: the root belongs to another store or heap`);
  }
}

/** A value given to `ExternRef.new` (or returned by `dataMut`) cannot be structured-cloned. */
export class NotCloneableError extends SharedRefError {
  constructor(what: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      ErrorCode.NOT_CLONEABLE,
      `${what}: the value cannot be structured-cloned (${detail}); build it in place with ExternRef.newWith`,
      { cause },
    );
  }
}

/** The heap (or the store) was closed; nothing can be done with it any more. */
export class HeapClosedError extends SharedRefError {
  constructor(what = 'operation') {
    super(ErrorCode.HEAP_CLOSED, `${what}: the heap is closed`);
  }
}

/** The store was closed (its roots are released); create or use another store. */
export class StoreClosedError extends SharedRefError {
  constructor(what = 'operation') {
    super(ErrorCode.STORE_CLOSED, `${what}: the store is closed`);
  }
}

/** A `dataMut` lease was held past the heap's `leaseTimeoutMs`, or its holder died. */
export class LeaseTimeoutError extends SharedRefError {
  constructor(why: string) {
    super(ErrorCode.LEASE_TIMEOUT, `dataMut lease lost: ${why}`);
  }
}

/**
 * A WebAssembly call trapped: a host function threw (its error is `cause`), a handle reaching an
 * import was forged or stale (`cause.code === 'ERR_INVALID_HANDLE'`), or the guest trapped itself
 * (`cause` is the `WebAssembly.RuntimeError`). The call's roots are released either way.
 */
export class WasmTrap extends SharedRefError {
  constructor(where: string, cause: unknown) {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(ErrorCode.WASM_TRAP, `wasm trap in ${where}: ${detail}`, { cause });
  }
}

/** Something other than the above; `code` says which. */
export class GenericSharedRefError extends SharedRefError {}

type ErrorClass = new (...args: never[]) => SharedRefError;

const classByCode = new Map<string, ErrorClass>([
  [ErrorCode.GC_HEAP_OOM, GcHeapOutOfMemory],
  [ErrorCode.UNROOTED, UnrootedError],
  [ErrorCode.INVALID_HANDLE, InvalidHandleError],
  [ErrorCode.CROSS_STORE, CrossStoreError],
  [ErrorCode.NOT_CLONEABLE, NotCloneableError],
  [ErrorCode.HEAP_CLOSED, HeapClosedError],
  [ErrorCode.STORE_CLOSED, StoreClosedError],
  [ErrorCode.LEASE_TIMEOUT, LeaseTimeoutError],
  [ErrorCode.WASM_TRAP, WasmTrap],
]);

/** The wire form of an error. Plain data, so any thread can clone it. */
export interface SerializedError {
  readonly kind: 'sharedref-error';
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
  readonly handle?: number;
  readonly cause?: SerializedError;
  /** For non-Error throwables that are cloneable. */
  readonly thrown?: unknown;
}

/** Turns anything thrown into a cloneable record that keeps `code`, `name` and `cause`. */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const handle = (err as { handle?: unknown }).handle;
    const cause = (err as { cause?: unknown }).cause;
    return {
      kind: 'sharedref-error',
      name: err.name,
      message: err.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(err.stack !== undefined ? { stack: err.stack } : {}),
      ...(typeof handle === 'number' ? { handle } : {}),
      ...(cause !== undefined && depth < 4 ? { cause: serializeError(cause, depth + 1) } : {}),
    };
  }
  let thrown: unknown;
  try {
    thrown = structuredClone(err);
  } catch {
    thrown = String(err);
  }
  return { kind: 'sharedref-error', name: 'Error', message: String(err), thrown };
}

/** True when `x` is a record made by `serializeError`. */
export function isSerializedError(x: unknown): x is SerializedError {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'sharedref-error';
}

/** Rebuilds an error made by `serializeError`: same class for sharedref codes, same `code` always. */
export function deserializeError(s: SerializedError): unknown {
  if (s.thrown !== undefined) return s.thrown;
  const cause = s.cause !== undefined ? deserializeError(s.cause) : undefined;
  const Cls = s.code !== undefined ? classByCode.get(s.code) : undefined;
  let err: Error;
  if (Cls !== undefined) {
    err = Object.create(Cls.prototype) as Error;
    Object.defineProperty(err, 'message', { value: s.message, writable: true, configurable: true });
    Object.defineProperty(err, 'code', { value: s.code, enumerable: true });
    if (s.handle !== undefined) Object.defineProperty(err, 'handle', { value: s.handle, enumerable: true });
  } else if (s.code !== undefined && s.code.startsWith('ERR_') && isOwnCode(s.code)) {
    err = new GenericSharedRefError(s.code as ErrorCode, s.message);
  } else {
    const Builtin = builtinErrors[s.name] ?? Error;
    err = new Builtin(s.message);
    if (s.name !== err.name) Object.defineProperty(err, 'name', { value: s.name, configurable: true });
    if (s.code !== undefined) Object.defineProperty(err, 'code', { value: s.code, enumerable: true });
  }
  if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, configurable: true });
  if (s.stack !== undefined)
    Object.defineProperty(err, 'stack', { value: s.stack, configurable: true, writable: true });
  return err;
}

const ownCodes = new Set<string>(Object.values(ErrorCode));
function isOwnCode(code: string): boolean {
  return ownCodes.has(code);
}

const builtinErrors: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};
