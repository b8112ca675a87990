/**
 * Entry of every pool worker (the `filename` piscina loads). Thin on purpose: it attaches the
 * thread's store and exports the handler that runs the user's tasks.
 */
import { startPoolWorker } from '../src/pool/worker-runtime';

module.exports = startPoolWorker();
