/**
 * Heaps with an echo on the coordinator's own thread: the baselines of the rows the coordinator
 * answers (`datasync-first-read`: a raw postMessage round trip; `data-comlink`: a bare comlink
 * call). The creating thread (the benchmark's main thread).
 *
 * Through the public API only: the heap loads bench/fixtures/echo-host.js as its host module, and
 * that module posts its two ports through the coordinator thread's parentPort. Node announces
 * every new thread with `process.on('worker')`, which is how this side finds the coordinator's
 * `Worker` object to listen on. Rejected: `Heap._echoPort` and an `'echo'` heap message (before),
 * which put benchmark scaffolding in the library's declarations.
 */
import { join } from 'node:path';
import type { MessagePort, Worker } from 'node:worker_threads';
import { Heap, type HeapOptions } from '../../src';

/** The ports the coordinator's thread echoes on. Close both when done. */
export interface CoordinatorEcho {
  /** Every message posted here comes straight back. */
  readonly ping: MessagePort;
  /** A comlink endpoint exposing `{ read(x) { return x } }`. */
  readonly comlink: MessagePort;
}

interface EchoMessage {
  readonly sharedrefBenchEcho: CoordinatorEcho;
}

function isEchoMessage(m: unknown): m is EchoMessage {
  return typeof m === 'object' && m !== null && 'sharedrefBenchEcho' in m;
}

const ECHO_HOST = join(__dirname, '..', 'fixtures', 'echo-host.js');

/** Seconds to wait for the coordinator's ports after the heap is ready. */
const ECHO_TIMEOUT_S = 10;

/** A heap created with `options` whose coordinator thread serves a `CoordinatorEcho`. */
export async function heapWithEcho(options: HeapOptions = {}): Promise<{ heap: Heap; echo: CoordinatorEcho }> {
  let resolveEcho!: (e: CoordinatorEcho) => void;
  const arrived = new Promise<CoordinatorEcho>((resolve) => (resolveEcho = resolve));
  const listening = new Map<Worker, (m: unknown) => void>();
  // 'worker' fires as the Worker object is made, before its thread can post anything.
  const onWorker = (w: Worker): void => {
    const onMessage = (m: unknown): void => {
      if (isEchoMessage(m)) resolveEcho(m.sharedrefBenchEcho);
    };
    w.on('message', onMessage);
    listening.set(w, onMessage);
  };
  process.on('worker', onWorker);
  let heap: Heap;
  try {
    heap = await Heap.create({ ...options, hostModule: ECHO_HOST });
  } finally {
    process.off('worker', onWorker);
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const echo = await Promise.race([
      arrived,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the coordinator posted no echo ports within ${ECHO_TIMEOUT_S} s`)),
          ECHO_TIMEOUT_S * 1000,
        );
      }),
    ]);
    return { heap, echo };
  } catch (err) {
    await heap.close();
    throw err;
  } finally {
    clearTimeout(timer);
    for (const [w, onMessage] of listening) w.off('message', onMessage);
  }
}
