/**
 * Errors: one class per failure, each with a stable `code` and a default message.
 *
 * Runs on every thread. Errors cross threads (coordinator → store, worker → caller) as plain
 * records made by `serializeError`, and `deserializeError` rebuilds each of ours by calling its
 * own constructor again with the arguments it was first made with (each argument sent as a
 * clone, an error inside as an error record). So the rebuilt error is a real instance: `code`,
 * `name`, `message`, `cause` and every method and private field work as on the thread that threw
 * it (`GcHeapOutOfMemory#intoInner()` after a `pool.run` rejection is the README's recovery
 * pattern). A structured clone alone keeps `message` and `name` and drops the rest.
 *
 * Errors that are not ours cross as the builtin class of the same name (`TypeError`, …, or
 * `Error`), keeping `name`, `message`, `code`, `cause`, `stack` and their own enumerable
 * properties that can be cloned.
 *
 * Rejected: rebuilding by `Object.create(Class.prototype)` and copying fields (the first design):
 * it skips the constructor, so private fields such as `GcHeapOutOfMemory`'s value are missing and
 * its methods throw.
 *
 * Convention (from Wasmtime's GC): using a root with the wrong store is a programmer error
 * (`ERR_CROSS_STORE`); a stale handle is an ordinary, recoverable error (`ERR_INVALID_HANDLE`).
 */

/** Every error code sharedref raises. Each has one class below. */
export const ErrorCode = {
  /** The heap has no free slot: `GcHeapOutOfMemory`, which hands the value back. */
  GC_HEAP_OOM: 'ERR_GC_HEAP_OOM',
  /** A root used after its scope ended, or a manual root unrooted twice: `UnrootedError`. */
  UNROOTED: 'ERR_UNROOTED',
  /** A raw handle that is forged, malformed, or names a freed object: `InvalidHandleError`. */
  INVALID_HANDLE: 'ERR_INVALID_HANDLE',
  /** A root used with another store or heap, or an owned raw handle of another store: `CrossStoreError`. */
  CROSS_STORE: 'ERR_CROSS_STORE',
  /** A value that cannot be structured-cloned, or a value built in place read as data: `NotCloneableError`. */
  NOT_CLONEABLE: 'ERR_NOT_CLONEABLE',
  /** The heap is closed: `HeapClosedError`. */
  HEAP_CLOSED: 'ERR_HEAP_CLOSED',
  /** The store is closed: `StoreClosedError`. */
  STORE_CLOSED: 'ERR_STORE_CLOSED',
  /** A `dataMut` lease expired (`leaseTimeoutMs`) or was broken before its commit: `LeaseTimeoutError`. */
  LEASE_TIMEOUT: 'ERR_LEASE_TIMEOUT',
  /** A `dataMutSync` inside another `dataMut(Sync)` of the same object on the same thread: `LeaseReentrantError`. */
  LEASE_REENTRANT: 'ERR_LEASE_REENTRANT',
  /** A method, factory or disposer did not settle within `userCodeTimeoutMs` and was abandoned: `CallTimeoutError`. */
  CALL_TIMEOUT: 'ERR_CALL_TIMEOUT',
  /** The store already holds `rootsPerStore` roots: `RootLimitError`. */
  ROOT_LIMIT: 'ERR_ROOT_LIMIT',
  /** Every store region is in use (`maxStores`): `StoreLimitError`. */
  STORE_LIMIT: 'ERR_STORE_LIMIT',
  /** `newWith` named a factory the heap's `hostModule` does not export as its own: `NoSuchFactoryError`. */
  NO_SUCH_FACTORY: 'ERR_NO_SUCH_FACTORY',
  /** `call` named a method the value does not have: `NoSuchMethodError`. */
  NO_SUCH_METHOD: 'ERR_NO_SUCH_METHOD',
  /** `pool.run` named a task the worker file's `defineTasks` does not define: `NoSuchTaskError`. */
  NO_SUCH_TASK: 'ERR_NO_SUCH_TASK',
  /** References sent to a task or back were released before they arrived: `TransferLostError`. */
  TRANSFER_LOST: 'ERR_TRANSFER_LOST',
  /** Every transfer entry is in flight (`transfers`): `TransferLimitError`. */
  TRANSFER_LIMIT: 'ERR_TRANSFER_LIMIT',
  /** The pool is closed: `PoolClosedError`. */
  POOL_CLOSED: 'ERR_POOL_CLOSED',
  /** A WebAssembly call trapped: `WasmTrap`, with the reason as `cause`. */
  WASM_TRAP: 'ERR_WASM_TRAP',
  /** A module imports something the linker does not define: `MissingImportError`. */
  MISSING_IMPORT: 'ERR_MISSING_IMPORT',
  /** A signature does not match the module's type: `TypeMismatchError`. */
  TYPE_MISMATCH: 'ERR_TYPE_MISMATCH',
  /** The coordinator thread exited while starting, or signalled a reply it did not send: `CoordinatorDiedError`. */
  COORDINATOR_DIED: 'ERR_COORDINATOR_DIED',
  /** An internal consistency check failed (a bug in sharedref): `InternalError`. */
  INTERNAL: 'ERR_INTERNAL',
} as const;

/** One of the codes in `ErrorCode`. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The arguments an error was made with, kept so that another thread can make it again. */
const kArgs = Symbol('sharedref.errorArgs');

/** Base class of every error sharedref raises; `code` is stable across releases and threads. */
export class SharedRefError extends Error {
  /** The stable error code, e.g. `'ERR_INVALID_HANDLE'`. */
  readonly code: ErrorCode;
  /** @internal */
  declare readonly [kArgs]: readonly unknown[];

  /** @internal Each subclass passes its code, its message and its own constructor's arguments. */
  protected constructor(code: ErrorCode, message: string, args: readonly unknown[], options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, kArgs, { value: args });
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

  /** `inner` is the value handed back; `capacity` is the heap's, for the message. */
  constructor(inner: T, capacity: number) {
    super(
      ErrorCode.GC_HEAP_OOM,
      `the heap has no free slot (capacity ${capacity}); run heap.gc() and retry with err.intoInner()`,
      [inner, capacity],
    );
    this.#inner = inner;
  }

  /** The value that could not be allocated, handed back unchanged (a copy, after crossing threads). */
  intoInner(): T {
    return this.#inner;
  }
}

/** A root was used after its scope ended, or a manual root was unrooted twice. */
export class UnrootedError extends SharedRefError {
  /** `what` names the operation that was refused. */
  constructor(what = 'operation') {
    super(ErrorCode.UNROOTED, `${what}: the root is no longer rooted (its scope ended or it was unrooted)`, [what]);
  }
}

/** Describes a received handle for a message: a number in hex, anything else by its type. */
function handleText(handle: unknown): string {
  if (typeof handle === 'number' && Number.isInteger(handle) && handle >= -(2 ** 31) && handle < 2 ** 32) {
    return `0x${(handle >>> 0).toString(16)}`;
  }
  if (typeof handle === 'number' || typeof handle === 'bigint') return String(handle);
  return `a ${handle === null ? 'null' : typeof handle}`;
}

/** A raw handle that is null where a reference was needed, malformed, forged, or whose object was freed. */
export class InvalidHandleError extends SharedRefError {
  /**
   * The handle that failed to resolve, as a `u32` when it was a 32-bit integer (either form);
   * otherwise the number received (`NaN` for what was not a number).
   */
  readonly handle: number;

  /** `handle` is what was received; `why` says what was wrong with it. */
  constructor(handle: unknown = 0, why = 'it does not name a live object of this heap') {
    super(ErrorCode.INVALID_HANDLE, `invalid handle ${handleText(handle)}: ${why}`, [handle, why]);
    this.handle =
      typeof handle === 'number' && Number.isInteger(handle) && handle >= -(2 ** 31) && handle < 2 ** 32
        ? handle >>> 0
        : typeof handle === 'number'
          ? handle
          : NaN;
  }
}

/** A root of one store (or heap) was used with another. */
export class CrossStoreError extends SharedRefError {
  /** `what` names the operation; `why` says whose root it was. */
  constructor(what = 'operation', why = 'the root belongs to another store or heap') {
    super(ErrorCode.CROSS_STORE, `${what}: ${why}`, [what, why]);
  }
}

/**
 * A value cannot be structured-cloned where it has to travel between threads: given to
 * `ExternRef.new`, returned by a `dataMut` fn or a method, passed to `call` or `pool.run`, returned
 * by a task. Or a value built in place was read as data.
 */
export class NotCloneableError extends SharedRefError {
  /**
   * `what` names the operation and where in the value, when known; `cause` is the clone's own
   * error; `hint` says what to do instead.
   */
  constructor(what = 'value', cause?: unknown, hint = '') {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      ErrorCode.NOT_CLONEABLE,
      `${what}: the value cannot be structured-cloned (${detail})${hint === '' ? '' : `; ${hint}`}`,
      [what, cause, hint],
      { cause },
    );
  }
}

/** The hint of `NotCloneableError` where a value is stored in the heap. */
export const BUILD_IN_PLACE = 'build values that cannot be copied in place with ExternRef.newWith';

/** The heap is closed; nothing can be done with it any more. */
export class HeapClosedError extends SharedRefError {
  /** `what` names the operation that was refused. */
  constructor(what = 'operation') {
    super(ErrorCode.HEAP_CLOSED, `${what}: the heap is closed`, [what]);
  }
}

/** The store was closed (its roots are released); create or use another store. */
export class StoreClosedError extends SharedRefError {
  /** `what` names the operation that was refused. */
  constructor(what = 'operation') {
    super(ErrorCode.STORE_CLOSED, `${what}: the store is closed`, [what]);
  }
}

/** A `dataMut` lease was held past the heap's `leaseTimeoutMs`, or broken before its commit. */
export class LeaseTimeoutError extends SharedRefError {
  /** `why` says how the lease was lost. */
  constructor(why = 'it expired') {
    super(ErrorCode.LEASE_TIMEOUT, `dataMut lease lost: ${why}`, [why]);
  }
}

/**
 * A `dataMutSync` on an object inside a `dataMut`/`dataMutSync` of the same object on the same
 * thread: it could only wait for a lease that its own caller holds (a deadlock), so it is refused
 * at once and nothing changes.
 */
export class LeaseReentrantError extends SharedRefError {
  /** `what` names the operation that was refused. */
  constructor(what = 'dataMutSync') {
    super(
      ErrorCode.LEASE_REENTRANT,
      `${what}: this thread already holds or waits for this object's dataMut lease (a nested mutation of ` +
        'the same object, or a dataMut still in flight), so a blocking wait could only deadlock',
      [what],
    );
  }
}

/**
 * A method (`call`), factory (`newWith`) or disposer did not settle within the heap's
 * `userCodeTimeoutMs`. The coordinator stopped waiting for it: the object's next call runs, and
 * the abandoned one is counted in `heap.stats().abandoned`.
 */
export class CallTimeoutError extends SharedRefError {
  /** `what` names the user code; `ms` is the bound it overstayed. */
  constructor(what = 'call', ms = 0) {
    super(
      ErrorCode.CALL_TIMEOUT,
      `${what} did not settle within ${ms} ms (options.userCodeTimeoutMs) and was abandoned`,
      [what, ms],
    );
  }
}

/** The store already holds `rootsPerStore` roots. */
export class RootLimitError extends SharedRefError {
  /** `what` names the operation; `limit` is the heap's `rootsPerStore`. */
  constructor(what = 'root', limit = 0) {
    super(ErrorCode.ROOT_LIMIT, `${what}: this store already holds ${limit} roots (options.rootsPerStore)`, [
      what,
      limit,
    ]);
  }
}

/** Every store region is in use (`maxStores`). */
export class StoreLimitError extends SharedRefError {
  /** `what` names the operation; `limit` is the heap's `maxStores`. */
  constructor(what = 'createStore', limit = 0) {
    super(ErrorCode.STORE_LIMIT, `${what}: all ${limit} store regions are in use (options.maxStores)`, [what, limit]);
  }
}

/** `newWith` named something that is not an own export of the host module. */
export class NoSuchFactoryError extends SharedRefError {
  /** `factory` is the name received; `known` lists the factories there are (or says there is no host module). */
  constructor(factory: unknown = '', known = '') {
    super(
      ErrorCode.NO_SUCH_FACTORY,
      `newWith: no factory named ${describeName(factory)}${known === '' ? '' : ` (${known})`}`,
      [factory, known],
    );
  }
}

/** `call` named something that is not a method of the value. */
export class NoSuchMethodError extends SharedRefError {
  /** `method` is the name received; `type` is the value's type name. */
  constructor(method: unknown = '', type = 'value') {
    super(ErrorCode.NO_SUCH_METHOD, `call(${describeName(method)}): the ${type} value has no method of that name`, [
      method,
      type,
    ]);
  }
}

/** `pool.run` named something that is not a task of the worker file. */
export class NoSuchTaskError extends SharedRefError {
  /** `task` is the name received; `known` lists the tasks there are. */
  constructor(task: unknown = '', known = '') {
    super(ErrorCode.NO_SUCH_TASK, `no task named ${describeName(task)}${known === '' ? '' : ` (${known})`}`, [
      task,
      known,
    ]);
  }
}

/** References sent to a task, or back from it, were released before they could be adopted. */
export class TransferLostError extends SharedRefError {
  /** `lost` is how many; `why` says what happened to them. */
  constructor(lost = 1, why = 'the sending thread died') {
    super(ErrorCode.TRANSFER_LOST, `transfer: ${lost} reference(s) were released before they arrived (${why})`, [
      lost,
      why,
    ]);
  }
}

/** Every transfer entry is in flight. */
export class TransferLimitError extends SharedRefError {
  /** `limit` is the heap's `transfers`. */
  constructor(limit = 0) {
    super(ErrorCode.TRANSFER_LIMIT, `transfer: all ${limit} transfer entries are in flight (options.transfers)`, [
      limit,
    ]);
  }
}

/** The pool is closed (or its heap is). */
export class PoolClosedError extends SharedRefError {
  /** `what` names the operation that was refused. */
  constructor(what = 'run') {
    super(ErrorCode.POOL_CLOSED, `${what}: the pool is closed`, [what]);
  }
}

/** Wasmtime's `Trap` names that sharedref can tell from V8's traps (`WasmTrap#trapCode`). */
export const TRAP_CODES = [
  'StackOverflow',
  'MemoryOutOfBounds',
  'HeapMisaligned',
  'TableOutOfBounds',
  'IndirectCallToNull',
  'BadSignature',
  'IntegerOverflow',
  'IntegerDivisionByZero',
  'BadConversionToInteger',
  'UnreachableCodeReached',
  'AtomicWaitNonSharedMemory',
  'NullReference',
  'ArrayOutOfBounds',
  'AllocationTooLarge',
  'CastFailure',
] as const;

/** One of Wasmtime's `Trap` names (see `TRAP_CODES`). */
export type TrapCode = (typeof TRAP_CODES)[number];

/**
 * V8's trap messages (Node 20) and the Wasmtime name each one means. V8 gives one message for a
 * `call_indirect` to a null entry and to a function of another type; `src/wasm/traps.ts` tells
 * them apart where it can, and the message alone gives no code.
 */
const V8_TRAP_MESSAGES: ReadonlyMap<string, TrapCode> = new Map([
  ['unreachable', 'UnreachableCodeReached'],
  ['divide by zero', 'IntegerDivisionByZero'],
  ['remainder by zero', 'IntegerDivisionByZero'],
  ['divide result unrepresentable', 'IntegerOverflow'],
  ['float unrepresentable in integer range', 'BadConversionToInteger'],
  ['memory access out of bounds', 'MemoryOutOfBounds'],
  ['data segment out of bounds', 'MemoryOutOfBounds'],
  ['table index is out of bounds', 'TableOutOfBounds'],
  ['table access out of bounds', 'TableOutOfBounds'],
  ['element segment out of bounds', 'TableOutOfBounds'],
  ['operation does not support unaligned accesses', 'HeapMisaligned'],
  ['Atomics.wait cannot be called in this context', 'AtomicWaitNonSharedMemory'],
  ['dereferencing a null pointer', 'NullReference'],
  ['array element access out of bounds', 'ArrayOutOfBounds'],
  ['requested new array is too large', 'AllocationTooLarge'],
  ['illegal cast', 'CastFailure'],
]);

/**
 * The Wasmtime trap name for a trap's cause: a guest's `WebAssembly.RuntimeError` by its message
 * (also after crossing threads, where it arrives as an `Error` named `RuntimeError`), and V8's
 * stack overflow (`RangeError: Maximum call stack size exceeded`); `null` for anything else (a
 * host function's own error, a bad handle).
 */
export function trapCodeOf(cause: unknown): TrapCode | null {
  if (!(cause instanceof Error)) return null;
  if (cause.name === 'RangeError' && cause.message === 'Maximum call stack size exceeded') return 'StackOverflow';
  if (cause.name !== 'RuntimeError') return null;
  return V8_TRAP_MESSAGES.get(cause.message) ?? null;
}

/**
 * A WebAssembly call trapped: a host function threw (its error is `cause`), a handle reaching an
 * import was forged or stale (`cause.code === 'ERR_INVALID_HANDLE'`), or the guest trapped itself
 * (`cause` is the `WebAssembly.RuntimeError`, and `trapCode` names it as Wasmtime's `Trap` does).
 * The call's roots are released either way.
 */
export class WasmTrap extends SharedRefError {
  /**
   * Wasmtime's name for a guest's trap (`'UnreachableCodeReached'`, `'IntegerDivisionByZero'`,
   * `'IndirectCallToNull'`, …), or `null` when the cause is not one (a host function's error) or
   * V8's message does not say which it was.
   */
  readonly trapCode: TrapCode | null;

  /** `where` names the function; `cause` is the reason; `trapCode` defaults to the one `cause` shows. */
  constructor(where = 'wasm', cause?: unknown, trapCode: TrapCode | null = trapCodeOf(cause)) {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(ErrorCode.WASM_TRAP, `wasm trap in ${where}: ${detail}`, [where, cause, trapCode], { cause });
    this.trapCode = trapCode;
  }
}

/** A module imports something the linker does not define. */
export class MissingImportError extends SharedRefError {
  /** `missing` names each import, as `module.name (kind)`. */
  constructor(missing: readonly string[] = []) {
    super(
      ErrorCode.MISSING_IMPORT,
      `instantiate: the module imports ${missing.join(', ')}, which the linker does not define`,
      [missing],
    );
  }
}

/** A signature given by the host does not match the type the module declares. */
export class TypeMismatchError extends SharedRefError {
  /** `where` names the import or export; `expected` is the module's type; `given` the host's. */
  constructor(where = 'function', expected = '', given = '') {
    super(ErrorCode.TYPE_MISMATCH, `${where}: the module's type is ${expected}, but ${given} was given`, [
      where,
      expected,
      given,
    ]);
  }
}

/** The coordinator thread exited while starting, or answered a synchronous call without a reply. */
export class CoordinatorDiedError extends SharedRefError {
  /** `why` says what was seen. */
  constructor(why = 'the coordinator thread exited') {
    super(ErrorCode.COORDINATOR_DIED, why, [why]);
  }
}

/** An internal consistency check failed: a bug in sharedref. Please report it. */
export class InternalError extends SharedRefError {
  /** `why` says which check failed. */
  constructor(why = 'internal consistency check failed') {
    super(ErrorCode.INTERNAL, `sharedref internal error: ${why}`, [why]);
  }
}

/** A name received where a factory, method or task name was expected, for a message. */
function describeName(name: unknown): string {
  if (typeof name === 'string') return JSON.stringify(name.length > 80 ? `${name.slice(0, 77)}...` : name);
  if (typeof name === 'symbol') return name.toString();
  return `${String(name)} (a ${typeof name}, not a string)`;
}

type ErrorClass = new (...args: never[]) => SharedRefError;

/** Every error class, by its code (one each). */
export const errorClasses: Readonly<Record<ErrorCode, ErrorClass>> = Object.freeze({
  [ErrorCode.GC_HEAP_OOM]: GcHeapOutOfMemory,
  [ErrorCode.UNROOTED]: UnrootedError,
  [ErrorCode.INVALID_HANDLE]: InvalidHandleError,
  [ErrorCode.CROSS_STORE]: CrossStoreError,
  [ErrorCode.NOT_CLONEABLE]: NotCloneableError,
  [ErrorCode.HEAP_CLOSED]: HeapClosedError,
  [ErrorCode.STORE_CLOSED]: StoreClosedError,
  [ErrorCode.LEASE_TIMEOUT]: LeaseTimeoutError,
  [ErrorCode.LEASE_REENTRANT]: LeaseReentrantError,
  [ErrorCode.CALL_TIMEOUT]: CallTimeoutError,
  [ErrorCode.ROOT_LIMIT]: RootLimitError,
  [ErrorCode.STORE_LIMIT]: StoreLimitError,
  [ErrorCode.NO_SUCH_FACTORY]: NoSuchFactoryError,
  [ErrorCode.NO_SUCH_METHOD]: NoSuchMethodError,
  [ErrorCode.NO_SUCH_TASK]: NoSuchTaskError,
  [ErrorCode.TRANSFER_LOST]: TransferLostError,
  [ErrorCode.TRANSFER_LIMIT]: TransferLimitError,
  [ErrorCode.POOL_CLOSED]: PoolClosedError,
  [ErrorCode.WASM_TRAP]: WasmTrap,
  [ErrorCode.MISSING_IMPORT]: MissingImportError,
  [ErrorCode.TYPE_MISMATCH]: TypeMismatchError,
  [ErrorCode.COORDINATOR_DIED]: CoordinatorDiedError,
  [ErrorCode.INTERNAL]: InternalError,
});

// ---- crossing threads -------------------------------------------------------------------------

/** One constructor argument on the wire: a clone, an error record, or nothing (it could not be cloned). */
type WireArg =
  | { readonly v: unknown }
  | { readonly error: SerializedError }
  | { readonly lost: string /* why it could not be cloned */ };

/** The wire form of an error. Plain data, so any thread can clone it. */
export interface SerializedError {
  readonly kind: 'sharedref-error';
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
  /** For our own errors: the constructor's arguments, to make it again on the other side. */
  readonly args?: readonly WireArg[];
  readonly cause?: SerializedError;
  /** Other errors' own enumerable properties that could be cloned. */
  readonly props?: Readonly<Record<string, unknown>>;
  /** For throwables that are not errors: the value, cloned (or its `String`). */
  readonly thrown?: unknown;
}

const MAX_DEPTH = 4;

function wireArg(arg: unknown, depth: number): WireArg {
  if (arg instanceof Error) return { error: serializeError(arg, depth + 1) };
  try {
    return { v: structuredClone(arg) };
  } catch (err) {
    return { lost: err instanceof Error ? err.message : String(err) };
  }
}

/** Turns anything thrown into a cloneable record that keeps class, `code`, `message` and `cause`. */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = (err as { cause?: unknown }).cause;
    const base = {
      kind: 'sharedref-error' as const,
      name: err.name,
      message: err.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(err.stack !== undefined ? { stack: err.stack } : {}),
    };
    if (err instanceof SharedRefError && depth < MAX_DEPTH) {
      return { ...base, args: err[kArgs].map((a) => wireArg(a, depth)) };
    }
    const props: Record<string, unknown> = {};
    for (const key of Object.keys(err)) {
      if (key === 'code' || key === 'cause') continue;
      try {
        props[key] = structuredClone((err as unknown as Record<string, unknown>)[key]);
      } catch {
        // not cloneable: left behind
      }
    }
    return {
      ...base,
      ...(Object.keys(props).length > 0 ? { props } : {}),
      ...(cause !== undefined && depth < MAX_DEPTH ? { cause: serializeError(cause, depth + 1) } : {}),
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

function argOf(w: WireArg): unknown {
  if ('error' in w) return deserializeError(w.error);
  if ('v' in w) return w.v;
  return undefined;
}

/**
 * Rebuilds an error made by `serializeError`: ours through their own constructors (so they are
 * whole instances), others as the builtin class of their name; `code`, `message`, `cause` and the
 * remote `stack` kept.
 */
export function deserializeError(s: SerializedError): unknown {
  if (s.thrown !== undefined) return s.thrown;
  const Cls = s.code !== undefined ? (errorClasses as Record<string, ErrorClass | undefined>)[s.code] : undefined;
  let err: Error;
  if (Cls !== undefined && s.args !== undefined && Object.hasOwn(errorClasses, s.code!)) {
    err = new (Cls as unknown as new (...a: unknown[]) => SharedRefError)(...s.args.map(argOf));
    // The same arguments make the same message; kept as sent in case the versions differ.
    if (err.message !== s.message) err.message = s.message;
  } else {
    const Builtin = Object.hasOwn(builtinErrors, s.name) ? builtinErrors[s.name]! : Error;
    err = new Builtin(s.message);
    if (s.name !== err.name) Object.defineProperty(err, 'name', { value: s.name, configurable: true, writable: true });
    if (s.code !== undefined) Object.defineProperty(err, 'code', { value: s.code, enumerable: true, writable: true });
    for (const [k, v] of Object.entries(s.props ?? {})) {
      if (k !== '__proto__' && !(k in err))
        Object.defineProperty(err, k, { value: v, enumerable: true, writable: true });
    }
    if (s.cause !== undefined) {
      Object.defineProperty(err, 'cause', { value: deserializeError(s.cause), configurable: true, writable: true });
    }
  }
  if (s.stack !== undefined)
    Object.defineProperty(err, 'stack', { value: s.stack, configurable: true, writable: true });
  return err;
}

const builtinErrors: Record<string, ErrorConstructor> = {
  Error,
  // A guest's own trap, and the other Wasm errors, cross as themselves.
  RuntimeError: WebAssembly.RuntimeError as unknown as ErrorConstructor,
  CompileError: WebAssembly.CompileError as unknown as ErrorConstructor,
  LinkError: WebAssembly.LinkError as unknown as ErrorConstructor,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};
