/**
 * Compiles the AssemblyScript guests of this example from source into ./build (git-ignored),
 * with AssemblyScript's own compiler (the `assemblyscript` package), in one process.
 *
 * Each guest gets the flags its design needs (see the guests' doc blocks and docs/guests.md):
 * reference types are off by default in asc; the shared-memory guest needs the stub runtime,
 * an imported shared memory and `--zeroFilledMemory`. No optimisation passes: the guests are
 * small and the test suite compiles them on every run, so compile time matters more.
 *
 * Guests import the `sharedref` declarations as a package (`import { clone } from "sharedref/assembly"`),
 * as a guest in a project that installed sharedref does: `build/packages/sharedref` links to this
 * repository, and asc's `--path` looks there.
 *
 * Run: node examples/assemblyscript/build.mjs   (prints one line per guest; exit code 1 on errors)
 */
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const out = join(here, 'build');

/** Every guest and its flags. */
export const GUESTS = {
  // Native ABI: externrefs kept in globals; JS glue for linker.imports.
  native: ['--enable', 'reference-types', '--bindings', 'raw'],
  // Raw ABI: handles kept in a Map<u32, u32>, with the default (incremental) runtime.
  raw: ['--bindings', 'raw'],
  // Raw handles shared by pool workers through a board in a shared memory.
  board: [
    '--runtime',
    'stub',
    '--importMemory',
    '--sharedMemory',
    '--initialMemory',
    '1',
    '--maximumMemory',
    '1',
    '--zeroFilledMemory',
    '--memoryBase',
    '1024',
    '--enable',
    'threads',
  ],
};

async function main() {
  await mkdir(join(out, 'packages'), { recursive: true });
  const link = join(out, 'packages', 'sharedref');
  await rm(link, { force: true, recursive: false });
  await symlink(relative(dirname(link), repo), link, 'dir');
  // The glue asc writes with --bindings is an ES module.
  await writeFile(join(out, 'package.json'), '{ "type": "module" }\n');
  let failed = false;
  for (const [name, flags] of Object.entries(GUESTS)) {
    const started = Date.now();
    const { error, stderr } = await asc.main(
      [
        join(here, 'assembly', `${name}.ts`),
        '--outFile',
        join(out, `${name}.wasm`),
        '--textFile',
        join(out, `${name}.wat`),
        '--path',
        join(out, 'packages'),
        ...flags,
      ],
      {},
    );
    if (error) {
      failed = true;
      console.error(`${name}: ${error.message}\n${stderr.toString()}`);
    } else {
      console.log(`${name}: build/${name}.wasm (${Date.now() - started} ms)`);
    }
  }
  if (failed) process.exitCode = 1;
}

await main();
