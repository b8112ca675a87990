/**
 * The example server's pool worker file. Runs in piscina worker threads, one store per worker.
 *
 * `append` runs the seed's host-string module in Wasm: the guest calls the host's `concat` with
 * the session's reference and the new text, and returns the joined string as a new reference.
 *
 * The module is the seed's under the raw ABI (`i32` in the module, `handle` in the signatures):
 * the guest's handles are valid for the call and their counts are given back when it returns. The
 * native ABI (`externref`) was rejected here: each reference the guest sees holds a count until
 * this worker's V8 collects the guest's wrapper object, and an idle worker may not collect for a
 * long time, so expired sessions would stay live in the heap.
 */
'use strict';
const { defineTasks, ExternRef, Linker, Module } = require('sharedref/worker');

const CONCAT_WAT = `
(module
  (import "host-string" "concat" (func $concat (param i32 i32) (result i32)))
  (func (export "run") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    call $concat))
`;

const HANDLE2 = { params: ['handle', 'handle'], results: ['handle'] };

/** The guest's `run`, instantiated once per worker (its store lives as long as the thread). */
let run = null;

function concatRun(store) {
  if (run === null) {
    const linker = new Linker(store).funcWrap('host-string', 'concat', HANDLE2, (caller, a, b) =>
      ExternRef.new(caller.store, String(a.dataSync()) + String(b.dataSync())),
    );
    // Module.fromText compiles once per thread and caches the result.
    run = linker.instantiate(Module.fromText(CONCAT_WAT)).getTypedFunc('run', HANDLE2);
  }
  return run;
}

module.exports = defineTasks({
  /**
   * Joins the session's string and `text` in Wasm. Returns the new reference (a root in this
   * task's scope, which travels back to the caller) and the new length, read from this worker's
   * cache: the worker made the value, so reading it costs no round trip.
   */
  append(ctx, session, text) {
    const joined = concatRun(ctx.store)(session, ExternRef.new(ctx.store, text));
    return { ref: joined, length: String(joined.dataSync()).length };
  },
});
