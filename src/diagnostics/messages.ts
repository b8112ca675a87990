/**
 * The `node:diagnostics_channel` channels sharedref publishes on, and the message of each.
 *
 * Any thread: the coordinator builds the messages (without `heapId`), the heap's creating thread
 * adds the heap's id and publishes them (channels.ts). Names and fields are public and stable;
 * the README lists them. Each message is a plain object of numbers and strings.
 */
import {
  LISTEN_ABANDONED,
  LISTEN_GC,
  LISTEN_LEASE_TIMEOUT,
  LISTEN_STORE_ATTACH,
  LISTEN_STORE_DETACH,
} from '../shared/layout';

/** The names of sharedref's diagnostics channels. Subscribe on the thread that called `Heap.create()`. */
export const DIAGNOSTICS_CHANNELS = Object.freeze({
  /** A collection ran: {@link GcMessage}. */
  gc: 'sharedref:gc',
  /** A store attached to a heap: {@link StoreAttachMessage}. */
  storeAttach: 'sharedref:store:attach',
  /** A store left a heap, closed or with its thread: {@link StoreDetachMessage}. */
  storeDetach: 'sharedref:store:detach',
  /** A `dataMut` lease ended because its holder did not commit in time: {@link LeaseTimeoutMessage}. */
  leaseTimeout: 'sharedref:lease:timeout',
  /** The coordinator stopped waiting for user code: {@link AbandonedMessage}. */
  abandoned: 'sharedref:abandoned',
} as const);

/** One of the names in {@link DIAGNOSTICS_CHANNELS}. */
export type DiagnosticsChannelName = (typeof DIAGNOSTICS_CHANNELS)[keyof typeof DIAGNOSTICS_CHANNELS];

/**
 * What started a collection: `'request'` (`heap.gc()`, `store.gc()`, `gcSync()`), `'allocation'`
 * (a store's batch request found too few free slots; in debug mode, every batch request),
 * `'background'` (one slice of the collection that runs while less than a quarter of the heap is
 * free), `'timer'` (`autoCollectMs`, or debug mode's every 20 ms), `'close'` (`heap.close()`).
 */
export type GcTrigger = 'request' | 'allocation' | 'background' | 'timer' | 'close';

/** `sharedref:gc`: a collection ran on the coordinator. */
export interface GcMessage {
  /** The heap's `heap.id`. */
  readonly heapId: number;
  /** What started it. */
  readonly trigger: GcTrigger;
  /** Its number: `stats().collections` counted up to and including it. */
  readonly collection: number;
  /** Objects it disposed and freed (as `GcReport.freed`). */
  readonly freed: number;
  /** Objects holding a slot after it. */
  readonly live: number;
  /** How long the coordinator spent on it, in milliseconds (the pause `heap.pauseHistogram()` records). */
  readonly pauseMs: number;
}

/** `sharedref:store:attach`: a store attached to a heap (the heap's own, `createStore()`, a pool worker's, …). */
export interface StoreAttachMessage {
  readonly heapId: number;
  /** The store's id in this heap (its region's number, reused after it leaves). */
  readonly storeId: number;
  /** Stores attached now, this one included. */
  readonly stores: number;
}

/**
 * Why a store left: `'close'` (`store.close()`, or its pool worker closing it) or `'exit'` (its
 * thread ended, was terminated or crashed, or its ports closed, without a goodbye).
 */
export type StoreDetachReason = 'close' | 'exit';

/** `sharedref:store:detach`: a store left a heap, and everything it held was released (I4). */
export interface StoreDetachMessage {
  readonly heapId: number;
  readonly storeId: number;
  readonly reason: StoreDetachReason;
  /** Counts its roots held, given back. */
  readonly released: number;
  /** References it had in flight to other threads and nobody adopted, released. */
  readonly transfers: number;
  /** Stores attached now, after it left. */
  readonly stores: number;
}

/** `sharedref:lease:timeout`: a `dataMut` lease ended after `leaseTimeoutMs` without a commit. */
export interface LeaseTimeoutMessage {
  readonly heapId: number;
  /** The store that held the lease; its commit will fail with `ERR_LEASE_TIMEOUT`. */
  readonly storeId: number;
  /** The object's raw handle. */
  readonly handle: number;
  readonly leaseTimeoutMs: number;
}

/** Which user code was abandoned: a method (`call`), a factory (`newWith`) or an async disposer. */
export type UserCodeKind = 'method' | 'factory' | 'disposer';

/** `sharedref:abandoned`: user code did not settle within `userCodeTimeoutMs` (counted in `stats().abandoned`). */
export interface AbandonedMessage {
  readonly heapId: number;
  readonly kind: UserCodeKind;
  /** The method's or factory's name; for a disposer, its value's type name. */
  readonly name: string;
  /** The object's raw handle; 0 for a factory, and for a disposer of a value that never reached a slot. */
  readonly handle: number;
  /** The store whose call it was; 0 for a disposer (the coordinator's own work). */
  readonly storeId: number;
  readonly userCodeTimeoutMs: number;
}

/** The message of each channel. */
export interface DiagnosticsMessages {
  'sharedref:gc': GcMessage;
  'sharedref:store:attach': StoreAttachMessage;
  'sharedref:store:detach': StoreDetachMessage;
  'sharedref:lease:timeout': LeaseTimeoutMessage;
  'sharedref:abandoned': AbandonedMessage;
}

/** A message as the coordinator sends it: the creating thread adds `heapId`. */
export type EventBody<N extends DiagnosticsChannelName> = Omit<DiagnosticsMessages[N], 'heapId'>;

/** The `H_LISTEN` bit of each channel (layout.ts). */
export const LISTEN_BITS: Readonly<Record<DiagnosticsChannelName, number>> = Object.freeze({
  'sharedref:gc': LISTEN_GC,
  'sharedref:store:attach': LISTEN_STORE_ATTACH,
  'sharedref:store:detach': LISTEN_STORE_DETACH,
  'sharedref:lease:timeout': LISTEN_LEASE_TIMEOUT,
  'sharedref:abandoned': LISTEN_ABANDONED,
});

/** Coordinator → creating thread, on the heap port: one event for channel `name` (see rpc/protocol.ts). */
export type DiagnosticsEvent = {
  [N in DiagnosticsChannelName]: { readonly t: 'event'; readonly name: N; readonly body: EventBody<N> };
}[DiagnosticsChannelName];
