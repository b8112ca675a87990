/**
 * The layout of the demo's shared `WebAssembly.Memory`, and what its threads tell each other: read
 * by the main thread (demo.ts) and by every pool worker (tasks.ts), declared once here.
 *
 * Bytes 0 … READY_AT: one 8-byte progress counter per worker. READY_AT: the start barrier (how
 * many workers are ready). BOARD_AT on: the board, 8 bytes per slot (a spin lock, then a raw
 * handle or 0).
 */

/** Most workers the demo runs (one progress counter each below READY_AT). */
export const MAX_WORKERS = 64;
/** Byte offset of the start barrier: how many workers are ready. */
export const READY_AT = MAX_WORKERS * 8;
/** Byte offset of the board. */
export const BOARD_AT = 1024;
/** Most board slots (`--objects`). */
export const MAX_OBJECTS = 1 << 20;

/** The part of a run each worker is told. */
export interface WorkPlan {
  readonly memory: WebAssembly.Memory;
  readonly worker: number;
  readonly workers: number;
  readonly slots: number;
  /** How long to run once every worker is ready, in milliseconds. */
  readonly ms: number;
  readonly seed: number;
}

/** What one worker reports when its share of the run ends. */
export interface WorkerReport {
  readonly worker: number;
  readonly threadId: number;
  /** Rounds of new + concat + publish. */
  readonly rounds: number;
  /** Host strings this worker created. */
  readonly created: number;
  /** Board slots holding a handle (a count of this worker's store) when the run ended. */
  readonly held: number;
}
