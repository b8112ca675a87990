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
 * A build whose inputs (asc's version, the flags, the guests' sources and the shipped
 * declarations) are those of the last build in ./build is skipped, so the test suite's second
 * pass (the debug mode) does not compile again; `--force` compiles anyway.
 *
 * Run: node examples/assemblyscript/build.mjs [--force]   (one line per guest; exit code 1 on errors)
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

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

/** A digest of everything a build depends on. */
async function inputsDigest() {
  const ascVersion = createRequire(import.meta.url)('assemblyscript/package.json').version;
  const hash = createHash('sha256').update(JSON.stringify({ asc: ascVersion, GUESTS }));
  for (const name of Object.keys(GUESTS)) hash.update(await readFile(join(here, 'assembly', `${name}.ts`)));
  for (const file of (await readdir(join(repo, 'assembly'))).sort()) {
    hash.update(file).update(await readFile(join(repo, 'assembly', file)));
  }
  return hash.digest('hex');
}

/** Whether ./build holds the outputs of a build of exactly these inputs. */
async function upToDate(digest) {
  try {
    if ((await readFile(join(out, 'inputs.sha256'), 'utf8')) !== digest) return false;
    for (const name of Object.keys(GUESTS)) await access(join(out, `${name}.wasm`));
    return true;
  } catch {
    return false;
  }
}

async function main() {
  const digest = await inputsDigest();
  if (!process.argv.includes('--force') && (await upToDate(digest))) {
    console.log('guests: up to date (build/inputs.sha256)');
    return;
  }
  await rm(join(out, 'inputs.sha256'), { force: true });
  const { default: asc } = await import('assemblyscript/asc'); // loads binaryen: only when compiling
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
  else await writeFile(join(out, 'inputs.sha256'), digest);
}

await main();
