// Run with: npm run build && node examples/pool/main.mjs
import { fileURLToPath } from 'node:url';
import { Heap, ExternRef } from 'sharedref';

const heap = await Heap.create();
const pool = heap.createPool({ filename: fileURLToPath(new URL('./tasks.mjs', import.meta.url)), maxThreads: 2 });
await heap.store.scope(async () => {
  const hello = ExternRef.new(heap.store, 'Hello, ');
  const world = ExternRef.new(heap.store, 'World!');
  const joined = await pool.run('concat', hello, world); // a Rooted in this scope
  console.log(joined.dataSync()); // Hello, World!
});
await heap.close(); // closes the pool, then disposes what is left
