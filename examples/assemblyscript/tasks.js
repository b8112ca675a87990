// Pool worker tasks over the board guest (assembly/board.ts): every worker instantiates it on
// the same shared memory, on its own store. Runs in pool worker threads.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { defineTasks, Linker, Module } = require('sharedref/worker');

const wasm = join(__dirname, 'build', 'board.wasm');

function board(ctx, memory) {
  const instance = new Linker(ctx.store)
    .define('env', 'memory', memory)
    .instantiate(Module.fromBinary(readFileSync(wasm))); // compiled once per worker (cached)
  return {
    publish: instance.getTypedFunc('publish', { params: ['i32', 'handle'], results: ['i32'] }),
    read: instance.getTypedFunc('read', { params: ['i32'], results: ['handle'] }),
    unpublish: instance.getTypedFunc('unpublish', { params: ['i32'], results: [] }),
  };
}

module.exports = defineTasks({
  // The guest takes a count (sharedref.clone) and writes the handle into the board.
  publish(ctx, memory, slot, r) {
    if (board(ctx, memory).publish(slot, r) !== 1) throw new RangeError(`slot ${slot} is taken`);
    return ctx.threadId;
  },
  // The guest reads the handle; the typed call turns it into a root of this worker's store.
  read(ctx, memory, slot) {
    const r = board(ctx, memory).read(slot);
    return { value: r === null ? null : r.dataSync(), threadId: ctx.threadId };
  },
});
