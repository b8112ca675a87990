/**
 * `StoreLink`: what a thread needs to attach a store to a heap (`heap.createStoreLink()`, then
 * `attachStore(link)` on the other thread). Plain data and ports, so it crosses threads in
 * `workerData` with `transferList: link.transferList`.
 */
import type { ResolvedHeapOptions } from '../options';
import type { StorePorts } from '../rpc/protocol';

/** Everything a thread needs to attach a store to a heap. Cloneable, once (it carries ports). */
export interface StoreLink {
  /** The heap's shared metadata: a shared `WebAssembly.Memory` (its buffer is the heap's `SharedArrayBuffer`). */
  readonly memory: WebAssembly.Memory;
  /** The heap's id (`heap.id`). */
  readonly heapId: number;
  /** The id of the store region reserved for the new store. */
  readonly storeId: number;
  /** The new store's ends of its three ports to the coordinator; they travel with the link. */
  readonly ports: StorePorts;
  /** The heap's options, defaults filled in. */
  readonly options: ResolvedHeapOptions;
}
