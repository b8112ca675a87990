/**
 * In-flight transfers: how a count travels between threads with a task's arguments or result.
 *
 * Any thread. The sender adds a count for the object (it holds a root, so the object is live) and
 * parks it in a transfer entry; the message carries a `TransferToken`. The receiver adopts the
 * entry exactly once, moving the count into its own root region. Each entry has an owner store:
 * for task arguments the caller (it releases what nobody adopted once the task settles), for
 * task results the caller too, tagged with the task (it releases a failed task's results by tag),
 * so a worker that dies right after posting its result cannot take the result's references with
 * it. The coordinator releases what a dead owner still had in flight (I4). Adopt and release are
 * both compare-exchanges on the state word, so exactly one of them wins.
 *
 * The state word is `sequence << 2 | state`. The sequence grows each time the entry is claimed,
 * and a token names the sequence it was made with, so a late release of an old token can never
 * hit a newer transfer that reuses the entry (the ABA problem).
 */
import {
  T_HANDLE,
  T_OWNER,
  T_STATE,
  T_TAG,
  TRANSFER_CLAIMED,
  TRANSFER_FREE,
  TRANSFER_IN_FLIGHT,
  TRANSFER_WORDS,
  type Layout,
  type WordOffset,
} from './layout';
import type { RawHandle, SlotIndex } from './handle';
import { NO_SLOT, type SlotTable, type TransferReturn } from './slot-table';

/** What a message carries for one transferred reference. Plain data. */
export interface TransferToken {
  readonly entry: number;
  readonly sequence: number;
  readonly handle: number;
}

const STATE_BITS = 2;
const STATE_MASK = (1 << STATE_BITS) - 1;

/** The transfer entries of one heap, seen from one thread. */
export class TransferTable {
  readonly #i32: Int32Array;
  readonly #slots: SlotTable;
  readonly #base: number;
  readonly #size: number;
  #hint = 0;

  constructor(i32: Int32Array, layout: Layout, slots: SlotTable) {
    this.#i32 = i32;
    this.#slots = slots;
    this.#base = layout.transferTable;
    this.#size = layout.transfers;
  }

  /**
   * Parks one new count of slot `index` (whose count the caller holds) in a free entry owned by
   * `owner`, and returns its token; null when every entry is in use.
   */
  send(owner: number, index: SlotIndex, handle: RawHandle, tag = 0): TransferToken | null {
    for (let probe = 0; probe < this.#size; probe++) {
      const entry = (this.#hint + probe) % this.#size;
      const at = (this.#base + entry * TRANSFER_WORDS) as WordOffset;
      const word = Atomics.load(this.#i32, at + T_STATE);
      if ((word & STATE_MASK) !== TRANSFER_FREE) continue;
      const sequence = ((word >>> STATE_BITS) + 1) & 0x3fffffff;
      const states = {
        free: word,
        claimed: (sequence << STATE_BITS) | TRANSFER_CLAIMED,
        inFlight: (sequence << STATE_BITS) | TRANSFER_IN_FLIGHT,
      };
      // Claim, fill, count and publish in one kernel call: a kill cannot land in between.
      if (!this.#slots.sendTransfer(at, states, { index, handle, owner, tag })) continue;
      this.#hint = entry + 1;
      return { entry, sequence, handle };
    }
    return null;
  }

  /**
   * Adopts `token`: the count moves into the root entry at `entryWord` (written in the same
   * function, right after the compare-exchange). Returns the slot index, or -1 (and writes
   * nothing) if the transfer
   * was already released (its owner died) or the token is not a live transfer.
   */
  adopt(token: TransferToken, entryWord: WordOffset): SlotIndex {
    if (!this.#valid(token)) return NO_SLOT;
    const at = (this.#base + token.entry * TRANSFER_WORDS) as WordOffset;
    const states = this.#returnStates(token);
    if (Atomics.load(this.#i32, at + T_HANDLE) !== (token.handle | 0)) return NO_SLOT;
    // The handle matched the entry's: it is the handle the sender's count was parked for.
    const handle = token.handle as RawHandle;
    // The compare-exchange and the root entry in one kernel call: a kill cannot land in between.
    if (!this.#slots.adoptTransfer(at, states, entryWord, handle)) return NO_SLOT;
    return this.#slots.indexOf(handle); // the adopted count keeps the slot live
  }

  /** Releases `token` if it is still in flight (nobody adopted it). Returns true if it did. */
  release(token: TransferToken): boolean {
    if (!this.#valid(token)) return false;
    const at = this.#base + token.entry * TRANSFER_WORDS;
    return this.#slots.releaseTransfer(
      (at + T_STATE) as WordOffset,
      this.#returnStates(token),
      this.#slots.indexOf(token.handle),
    );
  }

  /** The states an adoption or a release of `token` moves its entry between. */
  #returnStates(token: TransferToken): TransferReturn {
    return {
      inFlight: (token.sequence << STATE_BITS) | TRANSFER_IN_FLIGHT,
      free: (token.sequence << STATE_BITS) | TRANSFER_FREE,
    };
  }

  /** Releases every transfer still in flight owned by `owner` with tag `tag` (the results of a failed task). */
  releaseTagged(owner: number, tag: number): number {
    return this.releaseTaggedAny(owner, (t) => t === tag);
  }

  /** Releases every transfer still in flight owned by `owner` whose tag passes `isTag`: one pass for many tags. */
  releaseTaggedAny(owner: number, isTag: (tag: number) => boolean): number {
    let released = 0;
    for (let entry = 0; entry < this.#size; entry++) {
      const at = this.#base + entry * TRANSFER_WORDS;
      const word = Atomics.load(this.#i32, at + T_STATE);
      if ((word & STATE_MASK) !== TRANSFER_IN_FLIGHT) continue;
      if (Atomics.load(this.#i32, at + T_OWNER) !== owner || !isTag(Atomics.load(this.#i32, at + T_TAG))) continue;
      const token = { entry, sequence: word >>> STATE_BITS, handle: Atomics.load(this.#i32, at + T_HANDLE) >>> 0 };
      if (this.release(token)) released++;
    }
    return released;
  }

  /** Coordinator only: releases every transfer still in flight that `owner` owns (its thread died). */
  releaseOwnedBy(owner: number): number {
    let released = 0;
    for (let entry = 0; entry < this.#size; entry++) {
      const at = this.#base + entry * TRANSFER_WORDS;
      const word = Atomics.load(this.#i32, at + T_STATE);
      const state = word & STATE_MASK;
      if (state === TRANSFER_FREE || Atomics.load(this.#i32, at + T_OWNER) !== owner) continue;
      if (state === TRANSFER_CLAIMED) {
        // Claim, count and publish are one kernel call, which a kill cannot split, so a dead
        // owner's entry is never left CLAIMED; kept as a guard that gives back only the entry.
        Atomics.compareExchange(this.#i32, at + T_STATE, word, word & ~STATE_MASK);
        continue;
      }
      const token = { entry, sequence: word >>> STATE_BITS, handle: Atomics.load(this.#i32, at + T_HANDLE) >>> 0 };
      if (this.release(token)) released++;
    }
    return released;
  }

  #valid(token: TransferToken): boolean {
    return (
      typeof token === 'object' &&
      token !== null &&
      Number.isInteger(token.entry) &&
      token.entry >= 0 &&
      token.entry < this.#size &&
      Number.isInteger(token.sequence) &&
      typeof token.handle === 'number'
    );
  }
}
