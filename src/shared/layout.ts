/**
 * The layout of the heap's shared metadata: one `SharedArrayBuffer` viewed as `Int32Array`.
 *
 * Any thread. This file only computes where things are; it never reads or writes the buffer.
 * Every other module addresses shared memory through the constants and the `Layout` below, and
 * `test/unit/layout.test.ts` pins them, so a change here is a deliberate layout-version bump.
 *
 * Logical struct (all fields are 32-bit words; offsets are word indices):
 *
 * ```
 * struct Heap {
 *   Header   header;                        // HEADER_WORDS words, fields H_*
 *   Slot     slots[capacity];               // SLOT_WORDS each, fields S_*
 *   i32      releaseQueue[nextPow2(capacity)]; // ring of slot index + 1 (0 = empty)
 *   TypeNames typeNames;                    // TYPE_NAMES_MAX entry words, then TYPE_NAME_ARENA_BYTES of UTF-8
 *   Region   stores[maxStores];             // REGION_HEADER_WORDS + rootsPerStore each, fields R_*
 *   Transfer transfers[transfers];          // TRANSFER_WORDS each, fields T_*
 *   PauseHistogram pauses;                  // PAUSE_HISTOGRAM_WORDS, fields PH_*
 * }
 * ```
 *
 * Rejected alternative: one buffer per store region, allocated by each thread. It would let a
 * region grow, but the coordinator must be able to read a dead thread's region, so the buffer
 * would have to reach it by message before the thread can die — a race with `terminate()` that
 * a single pre-sized buffer does not have. `rootsPerStore` bounds a store instead (ERR_ROOT_LIMIT).
 */

/** Written into `H_MAGIC` so a foreign buffer is rejected: 'SREF'. */
export const MAGIC = 0x53524546;
/** Bumped on every change to the offsets below. */
export const LAYOUT_VERSION = 7;

// ---- Header ---------------------------------------------------------------------------------
// Contract per word: who writes / who reads / how.
/** Magic number. Written once by the creator; read by attachers (plain). */
export const H_MAGIC = 0;
/** Layout version. Written once by the creator; read by attachers. */
export const H_LAYOUT_VERSION = 1;
/** Slot count. Written once by the creator. */
export const H_CAPACITY = 2;
/** Store region count. Written once. */
export const H_MAX_STORES = 3;
/** Root entries per store region. Written once. */
export const H_ROOTS_PER_STORE = 4;
/** Transfer entries. Written once. */
export const H_TRANSFERS = 5;
/**
 * Heap state, HEAP_OPEN or HEAP_CLOSED. Written by the coordinator or the creator at close (Atomics.store); read by
 * every thread before each operation (a plain read: advisory, see header.ts `isHeapClosed`) and by blocked waiters
 * (Atomics.load).
 */
export const H_STATE = 6;
// Word 7 is unused (it was a shared live counter: every `new` and every free did a contended
// read-modify-write on it; live objects are now created − disposed, see header.ts).
/**
 * Values created by stores that are gone. The coordinator adds a store's `R_CREATED` when it
 * cleans the store's region (Atomics.add); stats read it (Atomics.load). Values created by stores
 * attached now are in their own regions' `R_CREATED`.
 */
export const H_CREATED = 8;
/**
 * Values disposed by the coordinator, and by stores that are gone (their `R_DISPOSED`, folded in). The coordinator adds
 * (Atomics.add); stats add every region's `R_DISPOSED`.
 */
export const H_DISPOSED = 9;
/** Collections run. The coordinator adds. */
export const H_COLLECTIONS = 10;
/** Stores attached now. Attachers add; the coordinator subtracts after cleaning a region. */
export const H_STORES = 11;
/**
 * Generation wraps: times a slot's generation went from its largest back to 1 (see handle.ts), by
 * the coordinator and by stores that are gone (their `R_WRAPS`, folded in). The coordinator adds
 * (Atomics.add); stats add every region's `R_WRAPS`.
 */
export const H_WRAPS = 12;
/**
 * Release queue: next position the coordinator will read. The coordinator writes (Atomics.store); stats read
 * (Atomics.load).
 */
export const H_RQ_HEAD = 13;
/** Release queue: next position a producer claims (Atomics.add by any thread). */
export const H_RQ_TAIL = 14;
/**
 * Interned type names published. The coordinator writes the name bytes, then Atomics.store's this; readers Atomics.load
 * it first.
 */
export const H_TYPE_COUNT = 15;
/** Debug mode flag (1 = on). Written once by the creator. */
export const H_DEBUG = 16;
/** Slots free on the coordinator's free list (not reserved by any store). Coordinator writes; stats read. */
export const H_FREE_LIST = 17;
/**
 * User code the coordinator stopped waiting for (a method, factory or async disposer that
 * overstayed `userCodeTimeoutMs`). The coordinator adds (Atomics.add); stats read (Atomics.load).
 */
export const H_ABANDONED = 18;
/** Bits of a handle's generation (`generationBits`). Written once by the creator; read by attachers. */
export const H_GEN_BITS = 19;
/**
 * The sharedref diagnostics channels that have a subscriber on the heap's creating thread: one
 * `LISTEN_*` bit per channel. The creating thread writes it (Atomics.store) whenever it finds the
 * set changed (diagnostics/channels.ts); the coordinator reads it (Atomics.load) before it builds an
 * event, and posts the event to the creating thread only if the channel's bit is set. Advisory:
 * a subscription may begin or end right after either access.
 */
export const H_LISTEN = 20;
/**
 * Diagnostics events the coordinator posted to the creating thread. The coordinator adds
 * (Atomics.add) before each post; tests read it (Atomics.load) to see that nothing is sent while
 * nobody subscribes.
 */
export const H_EVENTS_POSTED = 21;
/**
 * `dataMut` leases that ended because their holder did not commit within `leaseTimeoutMs`. The
 * coordinator adds (Atomics.add); stats read (Atomics.load).
 */
export const H_LEASE_TIMEOUTS = 22;
/** Words in the header; the rest are reserved (zero). */
export const HEADER_WORDS = 32;

/** `H_LISTEN` bits, one per diagnostics channel (names in diagnostics/messages.ts). */
export const LISTEN_GC = 1 << 0; // sharedref:gc
export const LISTEN_STORE_ATTACH = 1 << 1; // sharedref:store:attach
export const LISTEN_STORE_DETACH = 1 << 2; // sharedref:store:detach
export const LISTEN_LEASE_TIMEOUT = 1 << 3; // sharedref:lease:timeout
export const LISTEN_ABANDONED = 1 << 4; // sharedref:abandoned

/** `H_STATE` values. */
export const HEAP_OPEN = 0;
export const HEAP_CLOSED = 1;

// ---- Slot -----------------------------------------------------------------------------------
/**
 * Reference count. 0 is terminal (I2). Increments from 0 are never made: `clone` increments a
 * count its caller holds (plain Atomics.add); `fromRaw` uses a compare-exchange loop that refuses
 * 0. The thread whose decrement takes it to 0 moves the slot to SLOT_DYING and queues it.
 */
export const S_COUNT = 0;
/**
 * Generation of the value in the slot (or of the next value while FREE/RESERVED). Coordinator writes when freeing
 * (Atomics.store); everyone reads (Atomics.load) to validate handles (I1).
 */
export const S_GEN = 1;
/** One of SLOT_*. Written as documented on each state. */
export const S_STATE = 2;
/**
 * Store id the slot is reserved for (RESERVED) or that created it (LIVE), in the low bits
 * (`OWNER_STORE_MASK`), with the flags `OWNER_UNPOSTED` and `OWNER_WANTED` above. The coordinator
 * writes the id at grant (Atomics.store, flags clear); the creating store's kernel `publish` sets
 * UNPOSTED, its flush clears it (Atomics.and); the coordinator sets WANTED (Atomics.or). A store
 * recycles a slot without the coordinator only by a compare-exchange from exactly
 * `id | OWNER_UNPOSTED` (kernel `drop_own`), so a set WANTED bit always stops it.
 */
export const S_OWNER = 3;
/** The store-id bits of `S_OWNER` (maxStores ≤ 1024). */
export const OWNER_STORE_MASK = 0xffff;
/** `S_OWNER` flag: the creating store has not posted the value to the coordinator yet. */
export const OWNER_UNPOSTED = 1 << 30;
/**
 * `S_OWNER` flag: a request at the coordinator waits for the value; the slot must be freed by the coordinator, which
 * fails the request.
 */
export const OWNER_WANTED = 1 << 29;
/** Type tag (see type-names.ts). Written by the creating store before publishing SLOT_LIVE. */
export const S_TAG = 4;
/**
 * Version of the value; the coordinator adds 1 after every committed mutation or call, and freeing or recycling the
 * slot adds 1 (kernel `free_slot`, `drop_own`): it never goes back, so no later object of the slot shares a version
 * with an earlier one. Stores compare it with their cache (Atomics.load), whose entries are keyed by handle, and a
 * handle comes back for a later object of its slot once generations wrap.
 */
export const S_VERSION = 5;
/** Words per slot. */
export const SLOT_WORDS = 6;

/** Slot states (`S_STATE`). */
export const SLOT_FREE = 0; // on the coordinator's free list; written by the coordinator
export const SLOT_RESERVED = 1; // in a store's batch; written by the coordinator at grant
export const SLOT_LIVE = 2; // holds a value; published by the creating store (Atomics.store) after S_COUNT/S_TAG
export const SLOT_DYING = 3; // count reached 0; written by the thread that took it there, before queueing

// ---- Type names -----------------------------------------------------------------------------
/**
 * Interned type names (constructor names of values built in place), as a table of entries and
 * an arena of their bytes:
 *
 * ```
 * struct TypeNames {
 *   u32 entries[TYPE_NAMES_MAX];        // byte offset in the arena | byte length << 16
 *   u8  arena[TYPE_NAME_ARENA_BYTES];   // the names' UTF-8 bytes, back to back, whole
 * }
 * ```
 *
 * The coordinator is the only writer: it writes a name's bytes, then its entry (Atomics.store),
 * then publishes the count in `H_TYPE_COUNT` (Atomics.store); a reader loads the count first. A
 * name that does not fit (table or arena full) still gets a tag, above the table's; stores ask the
 * coordinator for it once (see type-names.ts), so names always come back whole.
 */
export const TYPE_NAMES_MAX = 1024;
/** Bytes of the name arena (offsets and lengths fit 16 bits each). */
export const TYPE_NAME_ARENA_BYTES = 65536;

// ---- Store region ---------------------------------------------------------------------------
/**
 * Region state, one of REGION_*. CAS FREE→LINKED by the thread that makes a store link, CAS
 * LINKED→ATTACHED by the store that attaches it (so a link attaches once); the coordinator stores
 * FREE after cleaning.
 */
export const R_STATE = 0;
/**
 * Sync mailbox word. The store stores 0 before a request; the coordinator stores 1 after posting the reply, then
 * notifies.
 */
export const R_MAILBOX = 1;
/**
 * High-water mark of root entries used. Store writes (plain: read only after the store's thread is gone or has said
 * goodbye, which orders it).
 */
export const R_HIGH_WATER = 2;
/**
 * Values this store created. Its only writer is the store's kernel `publish` (an atomic load and
 * store: no read-modify-write, and no other thread's cache line); stats read it (Atomics.load);
 * the coordinator moves it into `H_CREATED` when the store is gone (Atomics.exchange to 0).
 */
export const R_CREATED = 3;
/**
 * Values this store disposed of itself: objects it created that died before it posted them, whose
 * slots it recycled (kernel `drop_own`). Written like `R_CREATED`, by the store's kernel only; the
 * coordinator moves it into `H_DISPOSED` when the store is gone.
 */
export const R_DISPOSED = 4;
/**
 * Generation wraps of slots this store recycled itself (kernel `drop_own`). Written like
 * `R_DISPOSED`, by the store's kernel only, which finds it right after `R_DISPOSED` (so it must
 * stay `R_DISPOSED + 1`, pinned by the layout test); the coordinator moves it into `H_WRAPS` when
 * the store is gone.
 */
export const R_WRAPS = 5;
/** Words before the root entries. */
export const REGION_HEADER_WORDS = 6;

/** Region states (`R_STATE`). */
export const REGION_FREE = 0;
/** A store uses the region. Set by the attaching store, from LINKED (compare-exchange). */
export const REGION_ATTACHED = 1;
/** Claimed for a store link (`createStoreLink`, a pool worker's start) that has not attached yet. */
export const REGION_LINKED = 2;

// ---- Transfer -------------------------------------------------------------------------------
/** Transfer state, one of TRANSFER_*; every change is a compare-exchange, so exactly one of adopt/release wins. */
export const T_STATE = 0;
/** The raw handle whose count travels. Written by the sender before T_STATE becomes IN_FLIGHT. */
export const T_HANDLE = 1;
/**
 * Store id of the owner: the store whose death releases the transfer if nobody adopted it. For
 * task arguments that is the sender; for task results it is the receiver, so a worker that dies
 * after posting a result does not take the result's references with it.
 */
export const T_OWNER = 2;
/** Tag of the task a result belongs to (0 for arguments): lets the caller release the results of a task that failed. */
export const T_TAG = 3;
/** Words per transfer entry. */
export const TRANSFER_WORDS = 4;

/** Transfer states (low 2 bits of `T_STATE`). */
export const TRANSFER_FREE = 0;
export const TRANSFER_CLAIMED = 1; // being written by the sender
export const TRANSFER_IN_FLIGHT = 2; // published; adopted or released by exactly one compare-exchange

// ---- Pause histogram ------------------------------------------------------------------------
/**
 * Collection pauses, in whole microseconds, as log-linear buckets (the scheme is in
 * pause-histogram.ts: exact below 32 µs, then 16 buckets per power of two):
 *
 * ```
 * struct PauseHistogram {
 *   i32 minUs;                   // smallest pause; INT32_MAX until the first
 *   i32 maxUs;                   // largest pause; 0 until the first
 *   i32 buckets[PAUSE_BUCKETS];  // pauses per bucket; their sum is the count
 * }
 * ```
 *
 * The coordinator is the only writer, once per collection: it stores min and max (Atomics.store,
 * after an Atomics.load of its own last value), then adds 1 to the pause's bucket (Atomics.add),
 * which publishes them. Readers (`heap.pauseHistogram()`, any thread) load the buckets first and
 * min and max after (Atomics.load), so the min and max they see cover every pause they counted.
 */
/** The smallest pause recorded, in µs (INT32_MAX while none is). */
export const PH_MIN = 0;
/** The largest pause recorded, in µs (0 while none is). */
export const PH_MAX = 1;
/** The first bucket's word; bucket `b` counts the pauses `pauseBucket` maps to `b`. */
export const PH_BUCKETS = 2;
/** Buckets: 32 exact ones (0 … 31 µs), then 16 for each power of two from 2^5 to 2^30 µs. */
export const PAUSE_BUCKETS = 448;
/** Words of the pause histogram. */
export const PAUSE_HISTOGRAM_WORDS = PH_BUCKETS + PAUSE_BUCKETS;

/**
 * A position in the heap's `Int32Array` (a word, not a byte: the kernel takes `word * 4`). Type
 * only: it keeps word offsets from being passed as slot indices or handles.
 */
export type WordOffset = number & { readonly __brand: 'sharedref.WordOffset' };

/** Where each part of the buffer starts, for one heap's sizes. */
export interface Layout {
  readonly capacity: number;
  /** Bits of a handle's generation (see handle.ts): every bit above the index unless narrowed. */
  readonly generationBits: number;
  readonly maxStores: number;
  readonly rootsPerStore: number;
  readonly transfers: number;
  readonly slots: number;
  readonly releaseQueue: number;
  /** Entries in the release queue: a power of two ≥ capacity, so positions wrap cleanly at 2^32. */
  readonly releaseQueueSize: number;
  /** Byte offset (not word) of the type-name table (its entries; the arena follows them). */
  readonly typeNamesByte: number;
  readonly regions: number;
  readonly regionWords: number;
  readonly transferTable: number;
  /** Word offset of the pause histogram (fields PH_*). */
  readonly pauseHistogram: number;
  readonly totalWords: number;
}

/** Bits of a slot index in a heap of `capacity` slots: handles keep the index in their low bits. */
export function indexBitsFor(capacity: number): number {
  return Math.max(1, Math.ceil(Math.log2(capacity)));
}

/**
 * Computes the layout for the given sizes. `generationBits` defaults to every bit above the
 * index (`32 - indexBitsFor(capacity)`).
 */
export function computeLayout(
  capacity: number,
  maxStores: number,
  rootsPerStore: number,
  transfers: number,
  generationBits = 32 - indexBitsFor(capacity),
): Layout {
  const slots = HEADER_WORDS;
  const releaseQueue = slots + capacity * SLOT_WORDS;
  const releaseQueueSize = 2 ** Math.ceil(Math.log2(capacity));
  const typeNames = releaseQueue + releaseQueueSize;
  const regions = typeNames + TYPE_NAMES_MAX + TYPE_NAME_ARENA_BYTES / 4;
  const regionWords = REGION_HEADER_WORDS + rootsPerStore;
  const transferTable = regions + maxStores * regionWords;
  const pauseHistogram = transferTable + transfers * TRANSFER_WORDS;
  const totalWords = pauseHistogram + PAUSE_HISTOGRAM_WORDS;
  return {
    capacity,
    generationBits,
    maxStores,
    rootsPerStore,
    transfers,
    slots,
    releaseQueue,
    releaseQueueSize,
    typeNamesByte: typeNames * 4,
    regions,
    regionWords,
    transferTable,
    pauseHistogram,
    totalWords,
  };
}

/** Reads the sizes back from an existing buffer's header and recomputes its layout. */
export function layoutOf(i32: Int32Array): Layout {
  if (i32[H_MAGIC] !== MAGIC || i32[H_LAYOUT_VERSION] !== LAYOUT_VERSION) {
    throw new TypeError('the buffer is not a sharedref heap of this layout version');
  }
  return computeLayout(
    i32[H_CAPACITY]!,
    i32[H_MAX_STORES]!,
    i32[H_ROOTS_PER_STORE]!,
    i32[H_TRANSFERS]!,
    i32[H_GEN_BITS]!,
  );
}

/** Word offset of slot `index`'s first field. */
export function slotBase(layout: Layout, index: number): number {
  return layout.slots + index * SLOT_WORDS;
}

/** Word offset of store `id`'s region (ids start at 1; 0 means "no store"). */
export function regionBase(layout: Layout, storeId: number): number {
  return layout.regions + (storeId - 1) * layout.regionWords;
}
