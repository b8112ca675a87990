/**
 * Messages between a `Pool` and its piscina workers, as discriminated unions. Task messages go
 * through piscina; the attach message goes through the worker's `parentPort`, which piscina
 * re-emits on the pool as a `'message'` event.
 */
import type { SerializedError } from '../errors';
import type { ResolvedHeapOptions } from '../options';
import type { StorePorts } from '../rpc/protocol';
import type { Packed } from './transfer';

/** What a pool worker finds in `workerData`. */
export interface PoolWorkerData {
  readonly sharedref: {
    /** The heap's shared metadata. */
    readonly memory: WebAssembly.Memory;
    readonly heapId: number;
    readonly options: ResolvedHeapOptions;
    /** The user's task module (its `module.exports` is a `defineTasks` table). */
    readonly filename: string;
    /**
     * Tags of tasks the caller gave up on (see shared/abandoned-tags.ts).
     */
    readonly abandoned: Int32Array;
  };
  /** The user's own `workerData`. */
  readonly user: unknown;
}

/** Worker → pool, once at start: the coordinator's ends of the new store's ports. */
export interface AttachMessage {
  readonly sharedrefAttach: { readonly storeId: number; readonly ports: StorePorts };
}

/** Pool → worker: one task. Its arguments travel with their roots taken out (pool/transfer.ts). */
export interface TaskMessage {
  readonly task: string;
  readonly args: Packed;
  /** The caller's store and this task's tag: the owner of the result's transfers. */
  readonly replyTo: { readonly storeId: number; readonly tag: number };
}

/** Worker → pool: one task's outcome. Its result travels with its roots taken out (pool/transfer.ts). */
export type TaskOutcome =
  { readonly ok: true; readonly value: Packed } | { readonly ok: false; readonly error: SerializedError };

/** True for the attach message. */
export function isAttachMessage(m: unknown): m is AttachMessage {
  return typeof m === 'object' && m !== null && 'sharedrefAttach' in m;
}
