/** The package entries (`sharedref`, `sharedref/worker`) export plain values (see src/plain-exports.ts). */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The value names an entry file exports, read from its source (`export { A, B } from …`, not `export type`). */
function declaredExports(file: string): string[] {
  const source = readFileSync(join(__dirname, '..', '..', 'src', file), 'utf8');
  const names: string[] = [];
  for (const m of source.matchAll(/^export \{([^}]*)\} from/gm)) {
    for (const part of m[1]!.split(',')) if (part.trim() !== '') names.push(part.trim());
  }
  return names.sort();
}

describe('package entries', () => {
  for (const [file, entry] of [
    ['index.ts', '../../src'],
    ['worker.ts', '../../src/worker'],
  ] as const) {
    it(`${file} exports every declared name as a plain value, with the __esModule marker`, () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const exported = require(entry) as Record<string, unknown>;
      expect(Object.keys(exported).sort()).to.deep.equal(declaredExports(file));
      for (const key of Object.keys(exported)) {
        const d = Object.getOwnPropertyDescriptor(exported, key)!;
        expect(d.get, `${key} is a getter`).to.equal(undefined);
        expect(d.value, key).to.not.equal(undefined);
      }
      expect(exported.__esModule).to.equal(true);
    });
  }
});
