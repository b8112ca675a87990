/**
 * The package as npm publishes it: `npm pack`'s contents, then the tarball installed into an empty
 * folder, where the README's examples run as CommonJS, as ES modules and as TypeScript compiled by
 * the project's `tsc` with `moduleResolution` `node16` and `bundler` (readme.test.ts says how a
 * README block becomes a file here).
 *
 * Cost: one build (shared with the other tests that need dist/, see test/build.ts), one pack and
 * one `npm install` (from npm's cache when it has the dependencies) in `before`; then two `tsc` runs
 * and one process per example, each with a single heap.
 */
import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { buildPackage, npmCommand, repo, run } from '../build';
import { type CodeBlock, expectedOutput, type Marker, readmeBlocks } from './readme-examples';

type FileMarker = Extract<Marker, { kind: 'file' }>;

interface PackedFile {
  path: string;
}

interface Manifest {
  name: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: unknown;
  files: string[];
  scripts: Record<string, string>;
}

/** Every string in package.json's `exports` map (the files its conditions point at). */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(exportTargets);
}

/** Runs a README program; checks its exit code, its empty stderr and its printed lines. */
async function runExample(file: string, cwd: string, source: string): Promise<void> {
  const { stdout, stderr } = await run(process.execPath, [file], { cwd, timeoutMs: 60_000 });
  expect(stderr, `${file} wrote to stderr`).to.equal('');
  const printed = stdout.split('\n').filter((l) => l.trim() !== '');
  expect(printed, `${file}'s output`).to.deep.equal(expectedOutput(source));
}

describe('the published package', () => {
  const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Manifest;
  const examples = readmeBlocks(repo).filter((b): b is CodeBlock & { marker: FileMarker } => b.marker?.kind === 'file');
  let work = '';
  let packed: string[] = [];
  let project = '';

  before(async function () {
    this.timeout(240_000);
    work = mkdtempSync(join(tmpdir(), 'sharedref-package-'));
    await buildPackage();
    const [npm, pre] = npmCommand();
    // The build above is what prepack runs; packing again would only repeat it.
    const out = await run(npm, [...pre, 'pack', '--json', '--ignore-scripts', '--pack-destination', work], {
      cwd: repo,
    });
    const [info] = JSON.parse(out.stdout) as [{ filename: string; files: PackedFile[] }];
    packed = info.files.map((f) => f.path).sort();

    project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'readme-examples', private: true }));
    const install = ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, info.filename)];
    await run(npm, [...pre, ...install], { cwd: project, timeoutMs: 180_000 });

    // The README's example files, each folder a small project of its own.
    for (const { marker, text } of examples) {
      mkdirSync(dirname(join(project, marker.path)), { recursive: true });
      writeFileSync(join(project, marker.path), text);
    }
    for (const dir of new Set(
      examples.filter((b) => b.marker.path.endsWith('.ts')).map((b) => dirname(b.marker.path)),
    )) {
      writeFileSync(join(project, dir, 'package.json'), JSON.stringify({ type: 'module' }));
    }
  });

  after(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  it('holds the built library, its types and thread entries, README, LICENSE, CHANGELOG and docs', () => {
    const required = [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'docs/architecture.md',
      'docs/scaling.md',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/worker.js',
      'dist/src/worker.d.ts',
      'dist/esm/index.mjs',
      'dist/esm/index.d.mts',
      'dist/esm/worker.mjs',
      'dist/esm/worker.d.mts',
      'assembly/sharedref.ts', // AssemblyScript declarations of the sharedref import module
      'assembly/index.ts',
      'dist/demo/cli.js', // the `sharedref` command (`sharedref demo`)
      'dist/demo/tasks.js',
    ];
    // Every thread entry file: those in workers/, and every one the library starts (entryFile('<name>') in src/).
    for (const file of readdirSync(join(repo, 'workers'))) {
      if (file.endsWith('.ts')) required.push(`dist/workers/${file.replace(/\.ts$/, '.js')}`);
    }
    for (const file of readdirSync(join(repo, 'src'), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      for (const m of readFileSync(join(repo, 'src', file), 'utf8').matchAll(/entryFile\('([a-z-]+)'\)/g)) {
        required.push(`dist/workers/${m[1]}.js`);
      }
    }
    expect(
      required.filter((f) => !packed.includes(f)),
      'missing from the package',
    ).to.deep.equal([]);
    const unwanted = packed.filter(
      (f) =>
        /^(test|bench|examples|src|workers|scripts|node_modules|\.ci)\//.test(f) ||
        /^dist\/(?!src\/|workers\/|esm\/|demo\/)/.test(f) ||
        /^docs\/api\//.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('assembly/')) ||
        /\.(tgz|tsbuildinfo|log)$/.test(f) ||
        /(^|\/)\./.test(f),
    );
    expect(unwanted, 'in the package but not meant for it').to.deep.equal([]);
    expect(packed.length).to.be.below(300);
  });

  it('holds every file that package.json points at, and is publishable', () => {
    const pointed = [manifest.main, manifest.types, ...Object.values(manifest.bin), ...exportTargets(manifest.exports)];
    const missing = pointed.map((p) => p.replace(/^\.\//, '')).filter((p) => !packed.includes(p));
    expect(missing).to.deep.equal([]);
    expect(manifest).to.not.have.property('private');
    expect(manifest.scripts.prepack, 'npm pack builds dist/ first').to.match(/\bnpm run build\b/);
  });

  it('runs the README CommonJS pool example from the installed package', async function () {
    this.timeout(60_000);
    for (const { marker, text } of examples.filter((b) => b.marker.run && /\.c?js$/.test(b.marker.path))) {
      await runExample(join(project, marker.path), dirname(join(project, marker.path)), text);
    }
  });

  it('runs the README ES module examples, whose named imports are the CommonJS exports', async function () {
    this.timeout(60_000);
    for (const { marker, text } of examples.filter((b) => b.marker.run && b.marker.path.endsWith('.mjs'))) {
      await runExample(join(project, marker.path), dirname(join(project, marker.path)), text);
    }
    // One copy of the library: every CommonJS export is an ES module export, the same object.
    const check = join(project, 'same-exports.mjs');
    writeFileSync(
      check,
      [
        "import { createRequire } from 'node:module';",
        "import * as main from 'sharedref';",
        "import * as worker from 'sharedref/worker';",
        'const require = createRequire(import.meta.url);',
        "for (const [esm, cjs] of [[main, require('sharedref')], [worker, require('sharedref/worker')]]) {",
        '  const odd = Object.keys(cjs).filter((k) => esm[k] !== cjs[k] || esm.default[k] !== cjs[k]);',
        "  console.log(Object.keys(cjs).length > 10 && odd.length === 0 ? 'same' : `differ: ${odd}`);",
        '}',
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, [check], { cwd: project });
    expect(stdout).to.equal('same\nsame\n');
  });

  for (const resolution of ['node16', 'bundler'] as const) {
    it(`type-checks the README TypeScript examples (moduleResolution ${resolution}) and runs them`, async function () {
      this.timeout(120_000);
      const tsExamples = examples.filter((b) => b.marker.path.endsWith('.ts'));
      for (const dir of new Set(tsExamples.map((b) => dirname(b.marker.path)))) {
        const folder = join(project, dir);
        const outDir = `out-${resolution}`;
        const config = {
          compilerOptions: {
            // No `lib`: the default for the target includes DOM, where TypeScript declares the WebAssembly
            // namespace the package's types use (@types/node 20 does not declare it; README, Install).
            target: 'ES2022',
            module: resolution === 'node16' ? 'node16' : 'esnext',
            moduleResolution: resolution,
            strict: true,
            noUncheckedIndexedAccess: true,
            // node16 checks the package's declarations too, as the strictest consumer would; bundler skips
            // them, as most projects do (`tsc --init`), and costs a third of the time.
            skipLibCheck: resolution !== 'node16',
            types: ['node'],
            typeRoots: [join(repo, 'node_modules', '@types')],
            rootDir: '.',
            outDir,
          },
          include: ['*.ts'],
        };
        const tsconfig = join(folder, `tsconfig-${resolution}.json`);
        writeFileSync(tsconfig, JSON.stringify(config, null, 2));
        await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', tsconfig], { cwd: folder });
        for (const entry of readdirSync(folder, { withFileTypes: true })) {
          // The other files of the example (a host module) beside the compiled ones.
          if (entry.isFile() && !['.ts', '.json'].includes(extname(entry.name))) {
            cpSync(join(folder, entry.name), join(folder, outDir, entry.name));
          }
        }
        for (const { marker, text } of tsExamples.filter((b) => b.marker.run && dirname(b.marker.path) === dir)) {
          const compiled = join(folder, outDir, marker.path.slice(dir.length + 1).replace(/\.ts$/, '.js'));
          await runExample(compiled, join(folder, outDir), text);
        }
      }
    });
  }
});
