/**
 * AssemblyScript guests on sharedref, both ABIs, in pool workers and through asc's own JS glue.
 *
 * Run: npm run example:as   (builds the package and the guests, then runs this file)
 */
'use strict';
const { join } = require('node:path');
const { ExternRef, ExternRefObject, Heap, Module } = require('sharedref');
const { readFileSync } = require('node:fs');
const { guestLinker } = require('./host');

const build = join(__dirname, 'build');
const load = (name) => Module.fromBinary(readFileSync(join(build, `${name}.wasm`)));

async function main() {
  const heap = await Heap.create();
  const store = heap.store;
  try {
    // Native ABI: the guest keeps externrefs in globals; each one holds a count.
    const native = guestLinker(store).instantiate(load('native'));
    const keepNew = native.getTypedFunc('keepNew', { params: ['externref', 'i32'], results: ['i32'] });
    const kept = native.getTypedFunc('kept', { params: [], results: ['externref'] });
    store.scope(() => {
      console.log('native: keepNew ->', keepNew(ExternRef.new(store, 'ab'), 3)); // 6
      console.log('native: kept ->', kept().dataSync()); // ababab
    });

    // Raw ABI: the guest keeps handles in a Map<u32, u32> with sharedref.clone / drop.
    const raw = guestLinker(store).instantiate(load('raw'));
    const fn = (name, params, results) => raw.getTypedFunc(name, { params, results });
    store.scope(() => {
      fn('put', ['i32', 'handle'], [])(1, ExternRef.new(store, 'Hello, '));
      fn('put', ['i32', 'handle'], [])(2, ExternRef.new(store, 'World!'));
      fn('concatInto', ['i32', 'i32', 'i32'], [])(1, 2, 3);
      const joined = fn('get', ['i32'], ['handle'])(3);
      console.log('raw: concatInto ->', joined.dataSync(), 'count', joined.strongCount()); // Hello, World! 2
    });
    fn('clear', [], [])();

    // asc's glue (--bindings raw) instantiates the module itself, with the linker's imports.
    const { instantiate } = require('./build/native.js'); // an ES module, loaded with require (Node 20.19+)
    const nativeModule = load('native');
    const glue = await instantiate(nativeModule.wasm, guestLinker(store).imports(nativeModule));
    console.log('glue:', glue.greet('sharedref')); // Hello, sharedref!
    store.scope(() => {
      glue.keepNew(ExternRefObject.fromRoot(ExternRef.new(store, 'xy')), 2);
      console.log('glue: kept ->', ExternRefObject.toRooted(store, glue.kept()).dataSync()); // xyxy
    });

    // Two pool workers share a handle through a board in a shared memory.
    const pool = heap.createPool({ filename: join(__dirname, 'tasks.js'), minThreads: 2, maxThreads: 2 });
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    await store.scope(async () => {
      const r = ExternRef.new(store, { greeting: 'hi from the main thread' });
      const writer = await pool.run('publish', memory, 0, r);
      const reads = await Promise.all([pool.run('read', memory, 0), pool.run('read', memory, 0)]);
      console.log(
        'board: published by thread',
        writer,
        'read by',
        reads.map((x) => [x.threadId, x.value]),
      );
    });
    await pool.close();
  } finally {
    await heap.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
