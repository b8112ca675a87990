// Host functions for the AssemblyScript guests of this example, on one linker (any thread).
'use strict';
const { ExternRef, Linker } = require('sharedref');

/** An AssemblyScript string (UTF-16, byte length in the word before it) out of `memory`. */
function liftString(memory, pointer) {
  const p = pointer >>> 0;
  if (p < 4 || p > memory.buffer.byteLength) return '';
  const bytes = new Uint32Array(memory.buffer, (p - 4) & ~3, 1)[0];
  return String.fromCharCode(
    ...new Uint16Array(memory.buffer, p, Math.min(bytes >>> 1, (memory.buffer.byteLength - p) >>> 1)),
  );
}

/**
 * A linker with everything the guests import: AssemblyScript's `env.abort`, and the host
 * functions of the native (`host.make`, `host.length`) and raw (`host.concat`) guests. The
 * `sharedref` module (clone, drop, …) needs no definition.
 */
function guestLinker(store) {
  return new Linker(store)
    .funcWrap('env', 'abort', { params: ['i32', 'i32', 'i32', 'i32'], results: [] }, (caller, msg, file, line, col) => {
      const memory = caller.instance?.exports.memory;
      const text =
        memory instanceof WebAssembly.Memory ? `${liftString(memory, msg)} in ${liftString(memory, file)}` : '';
      throw new Error(`abort: ${text}:${line >>> 0}:${col >>> 0}`);
    })
    .funcWrap('host', 'make', { params: ['externref', 'i32'], results: ['externref'] }, (caller, text, n) =>
      ExternRef.new(caller.store, String(text.dataSync()).repeat(n)),
    )
    .funcWrap(
      'host',
      'length',
      { params: ['externref'], results: ['i32'] },
      (_caller, r) => String(r.dataSync()).length,
    )
    .funcWrap('host', 'concat', { params: ['handle', 'handle'], results: ['handle'] }, (caller, a, b) =>
      ExternRef.new(caller.store, String(a.dataSync()) + String(b.dataSync())),
    );
}

module.exports = { guestLinker, liftString };
