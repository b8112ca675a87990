/**
 * README.md's code examples cannot drift: every code block carries a marker that says how a test
 * runs it, and this file checks the markers, the mirrored files and the shell lines (fast, no
 * build). package.test.ts then runs every example from the packed package.
 *
 * How to add an example to the README. Put a marker on the line just above its opening fence:
 *
 * - `<!-- test: file <dir>/<name> [run] [mirror=<path>] -->`: the block is the file `<name>` in
 *   the folder `<dir>` of a project that has the packed package installed. Blocks with the same
 *   `<dir>` share a folder (a program and the worker or host module it loads).
 *   - `.ts`: compiled by the project's `tsc` twice, with `moduleResolution` `node16` and
 *     `bundler` (strict, ES modules: a folder with `.ts` files gets `"type": "module"`); every
 *     other file of the folder is copied beside the output.
 *   - `.js` is CommonJS (no `"type"` in the folder), `.mjs` an ES module, `.cjs` CommonJS.
 *   - `run`: the file is a program. It runs with the folder (or the compiled output) as its
 *     working directory, must exit with code 0 and write nothing to stderr, and its stdout lines
 *     must be the comments after its `console.log(…);` lines, in order:
 *     `console.log(x.dataSync());   // Hello, World!` must print `Hello, World!`.
 *   - `mirror=<path>`: the block must equal that repository file byte for byte (an example
 *     that also lives in `examples/`); edit both together.
 * - `<!-- test: wat-imports -->`: WAT `(import …)` lines of modules every `Linker` defines (the
 *   `sharedref` module): they are compiled in a module and instantiated with a bare `Linker`,
 *   so each name and signature must be one the linker accepts.
 * - `<!-- test: shell -->`: shell lines. Each `npm <script>` or `npm run <script>` must name a
 *   script of package.json, `npm install sharedref` the package, and each `node <file>` an existing
 *   file; add a rule in `checkShellLine` below for any other command.
 *
 * A block without a marker fails the first test below.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repo } from '../build';
import { Heap, Linker, Module } from '../../src';
import { type CodeBlock, codeBlocks, expectedOutput, parseMarker, readmeBlocks } from './readme-examples';

const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  name: string;
  scripts: Record<string, string>;
};

/** Why a shell line of the README does not hold, or null when it does. */
function checkShellLine(line: string): string | null {
  const command = line.replace(/\s+#.*$/, '').trim();
  if (command === '' || command.startsWith('#')) return null;
  for (const part of command.split('&&').map((p) => p.trim())) {
    const words = part.split(/\s+/);
    while (words.length > 0 && /^[A-Z_]+=\S*$/.test(words[0]!)) words.shift(); // PORT=0 node …
    const [cmd, first, second] = words;
    if (cmd === 'npm') {
      if (first === 'ci') continue;
      if (first === 'install' && second === pkg.name) continue;
      const script = first === 'run' ? second : first;
      if (script !== undefined && Object.hasOwn(pkg.scripts, script)) continue;
      return `"${part}": package.json has no script ${JSON.stringify(script)}`;
    }
    if (cmd === 'node') {
      const file = words.slice(1).find((w) => !w.startsWith('-'));
      if (file !== undefined && existsSync(join(repo, file))) continue;
      return `"${part}": no file ${JSON.stringify(file)} in the repository`;
    }
    return `"${part}": no rule checks the command ${JSON.stringify(cmd)} (add one to checkShellLine)`;
  }
  return null;
}

describe('README examples', () => {
  const blocks = readmeBlocks(repo);
  const files = blocks.filter((b): b is CodeBlock & { marker: { kind: 'file' } } => b.marker?.kind === 'file');

  it('every code block in README.md has a test marker', () => {
    const unmarked = blocks.filter((b) => b.marker === null).map((b) => `README.md:${b.line} (${b.lang})`);
    expect(unmarked, 'code blocks without a <!-- test: … --> line above them').to.deep.equal([]);
    expect(files.filter((b) => b.marker.run).length, 'programs the package test runs').to.be.at.least(5);
  });

  it('each example file is named once, and a mirrored one equals its repository file', () => {
    const paths = files.map((b) => b.marker.path);
    expect(
      paths.filter((p, i) => paths.indexOf(p) !== i),
      'file names used twice',
    ).to.deep.equal([]);
    for (const { line, text, marker } of files) {
      if (marker.mirror === null) continue;
      const mirrored = join(repo, marker.mirror);
      expect(existsSync(mirrored), `README.md:${line}: mirror ${marker.mirror} exists`).to.equal(true);
      expect(text, `README.md:${line} differs from ${marker.mirror}: change both together`).to.equal(
        readFileSync(mirrored, 'utf8'),
      );
    }
  });

  it('shell lines name scripts and files that exist', () => {
    const shells = blocks.filter((b) => b.marker?.kind === 'shell');
    expect(shells.length).to.be.at.least(2);
    const problems = shells.flatMap((b) =>
      b.text.split('\n').flatMap((line, i) => {
        const why = checkShellLine(line);
        return why === null ? [] : [`README.md:${b.line + 1 + i}: ${why}`];
      }),
    );
    expect(problems).to.deep.equal([]);
  });

  it('WAT import lists name imports a bare Linker defines, with the signatures it accepts', async () => {
    const lists = blocks.filter((b) => b.marker?.kind === 'wat-imports');
    expect(lists.length).to.be.at.least(1);
    const heap = await Heap.create();
    try {
      for (const { line, text } of lists) {
        const module = Module.fromText(`(module\n${text})`);
        expect(module.imports.length, `README.md:${line}: imports listed`).to.be.at.least(1);
        new Linker(heap.store).instantiate(module); // throws ERR_MISSING_IMPORT or ERR_TYPE_MISMATCH
      }
    } finally {
      await heap.close();
    }
  });

  it('the Quick start is the two commands npm ci && npm start and npm test', () => {
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const quick = readme.slice(readme.indexOf('## Quick start'));
    const first = codeBlocks(quick)[0];
    expect(first?.text).to.equal('npm ci && npm start\nnpm test\n');
  });

  it('a marker that does not parse fails with the line and what was expected; printed lines come from comments', () => {
    expect(() => parseMarker('file basic.ts run', 7)).to.throw(
      TypeError,
      /README\.md:7: .*expected a path <dir>\/<name>/,
    );
    expect(() => parseMarker('file ts/a.ts fast', 3)).to.throw(TypeError, /unknown option "fast"/);
    expect(() => parseMarker('run it', 1)).to.throw(TypeError, /expected "shell", "wat-imports" or "file/);
    expect(checkShellLine('npm run no-such-script')).to.match(/no script "no-such-script"/);
    expect(checkShellLine('curl localhost:3000')).to.match(/no rule checks the command "curl"/);
    expect(expectedOutput('console.log(a.dataSync()); // Hello!\nf(); // 2\nconsole.log(b);\n')).to.deep.equal([
      'Hello!',
    ]);
  });
});
