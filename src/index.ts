/**
 * sharedref: Wasmtime's `externref` semantics shared across Node.js worker threads.
 * This file only re-exports; see docs/architecture.md for the design.
 */
export { Heap, attachStore } from './heap';
export type { HeapStats, HeapResource } from './heap';
export type { HeapOptions, ResolvedHeapOptions } from './options';
export { defaultHeapOptions } from './options';
export { Store } from './store/store';
export type { StoreLink } from './store/store';
export { ExternRef } from './store/extern-ref';
export type { PendingConstruction } from './store/extern-ref';
export { RootBase, Rooted, ManuallyRooted, RootScope } from './store/roots';
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
export type { GcReport } from './rpc/protocol';
export { DIAGNOSTICS_CHANNELS } from './diagnostics/messages';
export { subscribe } from './diagnostics/subscribe';
export type { DiagnosticsListener } from './diagnostics/subscribe';
export type {
  DiagnosticsChannelName,
  DiagnosticsMessages,
  GcMessage,
  GcTrigger,
  StoreAttachMessage,
  StoreDetachMessage,
  StoreDetachReason,
  LeaseTimeoutMessage,
  AbandonedMessage,
  UserCodeKind,
} from './diagnostics/messages';
export type { PauseHistogram, PauseHistogramJson } from './diagnostics/histogram';
export { Pool } from './pool/pool';
export type { PoolOptions, RunTaskOptions } from './pool/pool';
export { defineTasks } from './pool/worker-runtime';
export type { Task, TaskContext, TaskTable } from './pool/worker-runtime';
export type {
  TasksOf,
  TaskName,
  TaskArg,
  TaskArgs,
  TaskResult,
  CheckedTasks,
  ManualRootParameter,
  NotCloneableResult,
} from './pool/task-types';
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
export { Module } from './wasm/module';
export type { ModuleCacheLimits, ModuleCacheStats } from './wasm/module-cache';
export { Linker, Instance } from './wasm/linker';
export type { Caller, HostFunction } from './wasm/linker';
export type { TypedFunc, HostFunc, WasmParam, WasmResult } from './wasm/typed-func';
export { ExternRefObject, VAL_TYPES } from './wasm/abi';
export type { Signature, ValType } from './wasm/abi';
export { Table, Global } from './wasm/externs';
export type { TableOptions, GlobalOptions, TableValue, GlobalValue, WasmFunction } from './wasm/externs';
export { WAT_FEATURES } from './wasm/wat';
export type {
  ModuleTypes,
  ImportType,
  ExportType,
  ExternType,
  FuncType,
  TableType,
  MemoryType,
  GlobalType,
  WasmValType,
  WasmRefType,
} from './wasm/binary-types';

// Plain values instead of TypeScript's re-export getters, for speed (see plain-exports.ts).
import { plainExports } from './plain-exports';
module.exports = plainExports(exports);
