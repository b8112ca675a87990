/**
 * README.md's code blocks and the marker that says how a test runs each one. Test process only;
 * readme.test.ts describes the markers (and how to add an example), package.test.ts runs them.
 *
 * A marker is an HTML comment on the line just above the opening fence, so readers of the README
 * never see it:
 *
 *     <!-- test: shell -->                                 commands; their scripts and files must exist
 *     <!-- test: file <dir>/<name> [run] [mirror=<path>] -->  a file of an example project
 *     <!-- test: wat-imports -->                           WAT imports every Linker defines (compiled and linked)
 *
 * Rejected: compiling the examples from the README's prose by position (an inserted block would
 * silently shift which one runs how), and copies of the examples under test/ (they drift).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How a test runs one code block. */
export type Marker =
  | { readonly kind: 'shell' }
  | { readonly kind: 'wat-imports' }
  | {
      readonly kind: 'file';
      /** Where the block goes in the example project: `<dir>/<name>`, e.g. `ts/basic.ts`. */
      readonly path: string;
      /** The file is a program to run (a `.ts` one is compiled first). */
      readonly run: boolean;
      /** A repository file the block must equal, byte for byte, or null. */
      readonly mirror: string | null;
    };

/** One fenced code block of the README. */
export interface CodeBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The fence's info string (`ts`, `js`, `sh`, …). */
  readonly lang: string;
  /** The block's text, with a final newline. */
  readonly text: string;
  /** The marker above the fence, or null if there is none. */
  readonly marker: Marker | null;
}

/** The file extensions an example file may have, and so the ways to run it. */
export const EXAMPLE_EXTENSIONS = ['.ts', '.js', '.cjs', '.mjs'] as const;

const MARKER = /^<!--\s*test:\s*(.*?)\s*-->\s*$/;
const FENCE = /^(`{3,})(.*)$/;
const EXAMPLE_PATH = /^[a-z0-9-]+\/[a-z0-9-]+\.(ts|js|cjs|mjs)$/;

/** Reads the marker text after `test:`; throws naming the line when it does not parse. */
export function parseMarker(text: string, line: number): Marker {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const fail = (why: string): never => {
    throw new TypeError(`README.md:${line}: bad test marker "${text}": ${why}`);
  };
  if (words[0] === 'shell' || words[0] === 'wat-imports') {
    if (words.length > 1) fail(`"${words[0]}" takes no arguments`);
    return { kind: words[0] };
  }
  if (words[0] !== 'file') {
    return fail('expected "shell", "wat-imports" or "file <dir>/<name> [run] [mirror=<path>]"');
  }
  const path = words[1];
  if (path === undefined || !EXAMPLE_PATH.test(path)) {
    return fail(`expected a path <dir>/<name> ending in ${EXAMPLE_EXTENSIONS.join(', ')}, received ${path}`);
  }
  let run = false;
  let mirror: string | null = null;
  for (const word of words.slice(2)) {
    if (word === 'run') run = true;
    else if (word.startsWith('mirror=') && word.length > 'mirror='.length) mirror = word.slice('mirror='.length);
    else fail(`unknown option ${JSON.stringify(word)} (expected run or mirror=<path>)`);
  }
  return { kind: 'file', path, run, mirror };
}

/** Every fenced code block of `markdown`, with its marker. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) continue;
    const fence = open[1]!;
    let end = i + 1;
    while (end < lines.length && !(lines[end]!.startsWith(fence) && lines[end]!.trim() === fence)) end++;
    if (end === lines.length) throw new TypeError(`README.md:${i + 1}: the code block is never closed`);
    const above = i > 0 ? MARKER.exec(lines[i - 1]!) : null;
    blocks.push({
      line: i + 1,
      lang: open[2]!.trim(),
      text: lines.slice(i + 1, end).join('\n') + '\n',
      marker: above === null ? null : parseMarker(above[1]!, i),
    });
    i = end;
  }
  return blocks;
}

/** The README's code blocks. */
export function readmeBlocks(repo: string): CodeBlock[] {
  return codeBlocks(readFileSync(join(repo, 'README.md'), 'utf8'));
}

/**
 * What a program block prints: the comment after each `console.log(…);` line, in order
 * (`console.log(x.dataSync());   // Hello, World!` prints `Hello, World!`).
 */
export function expectedOutput(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /\bconsole\.log\(.*\);?\s*\/\/\s*(.*?)\s*$/.exec(line);
    if (m !== null) out.push(m[1]!);
  }
  return out;
}
