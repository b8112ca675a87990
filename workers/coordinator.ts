/**
 * Entry point of the coordinator thread (one per heap). Thin on purpose: the actor lives in
 * `src/coordinator/coordinator.ts`; this file only connects it to the thread's `workerData`.
 */
import { workerData } from 'node:worker_threads';
import { Coordinator } from '../src/coordinator/coordinator';
import { serializeError } from '../src/errors';
import type { CoordinatorData, HeapMessage } from '../src/rpc/protocol';
import { layoutOf } from '../src/shared/layout';

const data = workerData as CoordinatorData;
const i32 = new Int32Array(data.buffer);
const coordinator = new Coordinator(i32, layoutOf(i32), data.options);
const port = data.port;

coordinator.loadHostModule().then(
  () => {
    port.on('message', (msg: HeapMessage) => coordinator.onHeapMessage(msg, (event) => port.postMessage(event)));
    port.postMessage({ t: 'ready' });
  },
  (err: unknown) => port.postMessage({ t: 'error', error: serializeError(err) }),
);
