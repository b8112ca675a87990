/**
 * A board of raw handles in shared memory, for guests in several pool workers at once.
 *
 * The memory is imported and shared (`env.memory`), so every worker's instance sees the same
 * bytes. The board is a fixed static region below `--memoryBase`, where AssemblyScript puts
 * nothing of its own: its allocator is not thread-aware (each instance would hand out the same
 * addresses), so this guest allocates nothing and is built with `--runtime stub`. It is built with
 * `--zeroFilledMemory` too, else each instantiation would clear the memory, board included.
 *
 * A published handle carries a count of the publishing worker's store (`clone`), so it stays valid
 * for every reader until that worker unpublishes it, or its store closes (its counts are then
 * released, and readers get ERR_INVALID_HANDLE, never another object).
 *
 * Build: asc board.ts --runtime stub --importMemory --sharedMemory --initialMemory 1
 *        --maximumMemory 1 --zeroFilledMemory --memoryBase 1024 --enable threads (see ../build.mjs).
 */
import { clone, drop } from "sharedref/assembly";

/** The board's first byte; it ends below `--memoryBase` (1024). */
const BOARD: usize = 64;
/** Slots on the board, 4 bytes each. */
const SLOTS: u32 = 64;

function slotAddress(slot: u32): usize {
  if (slot >= SLOTS) unreachable();
  return BOARD + (<usize>slot << 2);
}

/** Publishes `h` in `slot` with a count of this worker's store; false if the slot is taken. */
export function publish(slot: u32, h: u32): bool {
  const kept = clone(h);
  if (atomic.cmpxchg<u32>(slotAddress(slot), 0, kept) == 0) return true;
  drop(kept);
  return false;
}

/** The handle in `slot` (0 if empty). */
export function read(slot: u32): u32 {
  return atomic.load<u32>(slotAddress(slot));
}

/** Empties `slot` and drops its count. Only the worker that published it may: others trap, changing nothing. */
export function unpublish(slot: u32): void {
  const address = slotAddress(slot);
  const h = atomic.load<u32>(address);
  if (h == 0) return;
  drop(h);
  atomic.cmpxchg<u32>(address, h, 0);
}
