/**
 * Wire protocol between stores and the coordinator: every message is a member of a
 * discriminated union on `t`, defined here and nowhere else.
 *
 * Each store has three ports to the coordinator:
 * - control (store → coordinator): value posts (`put`), synchronous requests (`sync`), `bye`;
 *   its `close` event is how the coordinator learns that the store's thread died (I4);
 * - reply (coordinator → store): answers to `sync`, read with `receiveMessageOnPort` only;
 * - rpc: comlink, for the asynchronous API (`CoordinatorApi`).
 * The creating thread also holds the heap port (`HeapMessage`) for attaching stores and closing.
 *
 * Rejected: one port per store carrying both comlink and our own messages; comlink's listener
 * would see our messages and we would depend on its ignoring them.
 */
import type { DiagnosticsEvent } from '../diagnostics/messages';
import type { SerializedError } from '../errors';
import type { ResolvedHeapOptions } from '../options';

/** What `heap.gc()` reports. */
export interface GcReport {
  /**
   * Objects disposed and freed by this collection. Not those recycled by their own store (a value
   * dropped before its store posted it never reaches the collector; `stats().disposed` counts it).
   */
  readonly freed: number;
  /** Objects still holding a slot after it. */
  readonly live: number;
  /** Time the coordinator spent collecting, in milliseconds. */
  readonly pauseMs: number;
}

/** A value from the coordinator, with the version it had (a `dataMut` lease's grant). */
export interface VersionedValue {
  readonly value: unknown;
  readonly version: number;
}

/** A granted `dataMut` lease. */
export interface LeaseGrant extends VersionedValue {
  readonly lease: number;
}

/** The coordinator's API, per store. Asynchronous over comlink; the same names run synchronously over the mailbox. */
export interface CoordinatorApi {
  /**
   * The value of `handle`, without its version: the reader reads the version from shared memory
   * before it asks (see `RootBase#data`), which keeps the reply as small as the value.
   */
  read(handle: number): unknown;
  acquire(handle: number): Promise<LeaseGrant>;
  commit(lease: number, value: unknown): number;
  abandon(lease: number): void;
  call(handle: number, method: string, args: unknown[]): unknown;
  construct(index: number, generation: number, factory: string, args: unknown[]): number | Promise<number>;
  grant(count: number): Int32Array;
  /** A collection; with `awaitDisposal` false (`gcSync`) the report does not wait for async disposers. */
  collect(awaitDisposal: boolean): GcReport | Promise<GcReport>;
  /** The name of a type tag the shared table could not hold (see shared/type-names.ts). */
  typeName(tag: number): string;
  /** A closing store's goodbye, answered once its counts are released and its region is free (synchronous only). */
  bye(): void;
}

/** Names of the operations a store may ask for synchronously. */
export type SyncOp = keyof CoordinatorApi;

/** Store → coordinator, on the control port. */
export type ControlMessage =
  /**
   * Values of `ExternRef.new`: `values[k]` belongs to the object `handles[k]` (a typed array: one copy to deserialize,
   * not one item per handle).
   */
  | { readonly t: 'put'; readonly handles: Uint32Array; readonly values: unknown[] }
  /** A synchronous request; the answer comes on the reply port, then the mailbox word flips. */
  | { readonly t: 'sync'; readonly op: SyncOp; readonly args: unknown[] }
  /** The store is closing: release everything it holds. */
  | { readonly t: 'bye' };

/** Coordinator → store, on the reply port. */
export type ReplyMessage =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: SerializedError };

/** The ports a store uses, store side (what travels to the store's thread). */
export interface StorePorts {
  readonly control: MessagePort;
  readonly reply: MessagePort;
  readonly rpc: MessagePort;
}

/** Creator → coordinator, on the heap port. */
export type HeapMessage =
  | { readonly t: 'attach'; readonly storeId: number; readonly ports: StorePorts }
  /** `heap.close()` began: fail every pending mutation and call now (the shutdown follows). */
  | { readonly t: 'closing' }
  | { readonly t: 'shutdown' };

/**
 * Coordinator → creator, on the heap port. A diagnostics event (`t: 'event'`, defined with its
 * messages in diagnostics/messages.ts) is posted only for a channel the creator has subscribers on.
 */
export type HeapEvent =
  | { readonly t: 'ready' }
  | { readonly t: 'closed'; readonly disposed: number; readonly disposeErrors: number }
  | { readonly t: 'error'; readonly error: SerializedError }
  | DiagnosticsEvent;

/** What the coordinator thread receives as `workerData`. */
export interface CoordinatorData {
  /** The heap's shared metadata (its buffer is the heap's `SharedArrayBuffer`). */
  readonly memory: WebAssembly.Memory;
  readonly options: ResolvedHeapOptions;
  readonly port: MessagePort;
}

type MessagePort = import('node:worker_threads').MessagePort;
