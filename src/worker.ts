/**
 * `sharedref/worker`: what a pool worker file imports. Re-exports only.
 */
export { defineTasks } from './pool/worker-runtime';
export type { Task, TaskContext, TaskTable } from './pool/worker-runtime';
export type { CheckedTasks, ManualRootParameter, NotCloneableResult } from './pool/task-types';
export { ExternRef } from './store/extern-ref';
export { Store } from './store/store';
export { Rooted, ManuallyRooted, RootScope, RootBase } from './store/roots';
export type {
  Cloned,
  Cloneable,
  NotCloneableValue,
  DataMutFn,
  DataMutSyncFn,
  MutatedAs,
  NarrowedTypedRoot,
  RootValueType,
  MethodName,
  MethodArgs,
  MethodResult,
  FactoryName,
  FactoryArgs,
  Built,
  InPlace,
  BuiltInPlace,
  DataRoot,
  BuiltInPlaceValue,
  TypeCheck,
  InstanceOf,
} from './store/types';
export {
  SharedRefError,
  GcHeapOutOfMemory,
  UnrootedError,
  InvalidHandleError,
  CrossStoreError,
  NotCloneableError,
  HeapClosedError,
  StoreClosedError,
  LeaseTimeoutError,
  LeaseReentrantError,
  CallTimeoutError,
  RootLimitError,
  StoreLimitError,
  NoSuchFactoryError,
  NoSuchMethodError,
  NoSuchTaskError,
  TransferLostError,
  TransferLimitError,
  PoolClosedError,
  WasmTrap,
  MissingImportError,
  TypeMismatchError,
  CoordinatorDiedError,
  InternalError,
  ErrorCode,
  errorClasses,
  TRAP_CODES,
} from './errors';
export type { TrapCode } from './errors';
export type { GcReport } from './rpc/protocol';
export { ExternRefObject } from './wasm/abi';
export { Module } from './wasm/module';
export type { ModuleCacheLimits, ModuleCacheStats } from './wasm/module-cache';
export { Linker, Instance } from './wasm/linker';
export type { Caller, HostFunction } from './wasm/linker';
export type { Signature, ValType } from './wasm/abi';
export { Table, Global } from './wasm/externs';
export type { TableOptions, GlobalOptions, TableValue, GlobalValue, WasmFunction } from './wasm/externs';

// Plain values instead of TypeScript's re-export getters, for speed (see plain-exports.ts).
import { plainExports } from './plain-exports';
module.exports = plainExports(exports);
