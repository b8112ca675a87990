/**
 * Entry of the WAT compiler thread (one per thread that calls `Module.fromText`, started lazily).
 * wabt initialises asynchronously, so it lives here and callers block on a shared word while it
 * compiles. Thin on purpose: the protocol lives in `src/wasm/wat.ts`.
 */
import { workerData } from 'node:worker_threads';
import { serveWat } from '../src/wasm/wat';

serveWat(workerData);
