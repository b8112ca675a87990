/**
 * The published declarations show the public API only. Starting from the package's entries
 * (dist/src/index.d.ts, dist/src/worker.d.ts), every declaration file they reach is read: none is
 * one of sharedref's internal modules, and none declares an `_`-prefixed member, the core key or
 * anything marked `@internal` (the build strips those with `stripInternal`).
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { buildPackage, repo } from '../build';

const dist = join(repo, 'dist', 'src');

/**
 * Modules that only sharedref's own modules use: their declarations must not be reachable. (The
 * public types that are reachable are StoreLink's ports, the layout's pause-histogram words and
 * the public classes' own modules.)
 */
const INTERNAL = [
  'internal/',
  'coordinator/',
  'store/core.d.ts',
  'store/internal.d.ts',
  'store/slot-batch.d.ts',
  'store/connection.d.ts',
  'store/value-cache.d.ts',
  'shared/slot-table.d.ts',
  'shared/transfer-table.d.ts',
  'shared/slot-manager.d.ts',
  'shared/kernel.d.ts',
  'shared/root-region.d.ts',
  'pool/transfer.d.ts',
  'pool/protocol.d.ts',
];

/** The declaration files `entry` reaches through relative imports and exports. */
function reachable(entries: string[]): Map<string, string> {
  const seen = new Map<string, string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    seen.set(file, text);
    // Outside comments: a doc comment may show an import (`Heap.create<typeof import('./host.js')>`).
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const m of code.matchAll(/(?:from\s+|import\()\s*'(\.[^']+)'/g)) {
      const base = join(dirname(file), m[1]!);
      const target = [`${base}.d.ts`, join(base, 'index.d.ts')].find((p) => existsSync(p));
      expect(target, `${relative(dist, file)} imports ${m[1]}, which has no declaration file`).to.not.equal(undefined);
      todo.push(target!);
    }
  }
  return seen;
}

describe('published declarations', () => {
  let files: Map<string, string>;
  before(async function () {
    this.timeout(120_000);
    await buildPackage();
    files = reachable([join(dist, 'index.d.ts'), join(dist, 'worker.d.ts')]);
  });

  it('reach no internal module from the package entries', () => {
    const names = [...files.keys()].map((f) => relative(dist, f).split('\\').join('/'));
    expect(names).to.include('store/store.d.ts');
    expect(names.filter((n) => INTERNAL.some((i) => n.startsWith(i)))).to.deep.equal([]);
  });

  it('declare no underscore member, no core key and nothing marked @internal', () => {
    const found: string[] = [];
    for (const [file, text] of files) {
      text.split('\n').forEach((line, i) => {
        const member = /^\s*(?:(?:readonly|static|get|set|declare|private|protected|abstract)\s+)*_(?!_)\w*\??\s*[(:<]/;
        if (
          member.test(line) ||
          line.includes('[kCore]') ||
          line.includes('@internal') ||
          /\b(BorrowedRoot|BORROWED|PoolHost|startPoolWorker)\b/.test(line)
        ) {
          found.push(`${relative(dist, file)}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    expect(found).to.deep.equal([]);
  });
});
