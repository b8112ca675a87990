/**
 * Entry point of the coordinator thread (one per heap). Thin on purpose: the actor lives in
 * `src/coordinator/coordinator.ts`; this file only connects it to the thread's `workerData`.
 */
import { writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { Coordinator } from '../src/coordinator/coordinator';
import { serializeError } from '../src/errors';
import type { CoordinatorData, HeapMessage } from '../src/rpc/protocol';
import { layoutOf } from '../src/shared/layout';
import { closeHeapAndWakeAll } from '../src/shared/mailbox';

const data = workerData as CoordinatorData;
const i32 = new Int32Array(data.memory.buffer);
const layout = layoutOf(i32);
const port = data.port;
const coordinator = new Coordinator(data.memory, layout, data.options, (event) => port.postMessage(event));

// A coordinator that dies must not leave any thread waiting for it (I8).
const die = (err: unknown): void => {
  closeHeapAndWakeAll(i32, layout);
  writeSync(
    2,
    `sharedref: the coordinator thread failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(70);
};
process.on('uncaughtException', die);
process.on('unhandledRejection', die);
// Host code that calls process.exit() ends this thread without an exception: a creating thread
// blocked in a synchronous call cannot see the worker's 'exit' event, so the heap is marked
// closed (and every mailbox woken) from here, as the thread goes.
process.on('exit', () => closeHeapAndWakeAll(i32, layout));

coordinator.loadHostModule().then(
  () => {
    port.on('message', (msg: HeapMessage) => coordinator.onHeapMessage(msg, (event) => port.postMessage(event)));
    port.postMessage({ t: 'ready' });
  },
  (err: unknown) => port.postMessage({ t: 'error', error: serializeError(err) }),
);
