/**
 * The compile-only type tests (test/types/*.ts) are checked: `tsc` in `npm run typecheck`, the first
 * step of `npm test`, compiles each of them, so an expectation that breaks (a type that changed,
 * an `@ts-expect-error` line that compiles after all) fails `npm test`. This guards the wiring: a
 * file left out of tsconfig.json, or a typecheck step dropped from the test script, would make
 * them pass without being read.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { repo } from '../build';

describe('type tests', () => {
  const dir = join(repo, 'test', 'types');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

  it('are every one in the program that npm test type-checks first', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).to.match(/^npm run typecheck &&/);
    expect(pkg.scripts.typecheck).to.equal('tsc --noEmit -p tsconfig.json');
    const config = ts.getParsedCommandLineOfConfigFile(
      join(repo, 'tsconfig.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => expect.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
      },
    )!;
    expect(config.options.strict).to.equal(true);
    const checked = new Set(config.fileNames.map((f) => f.split('\\').join('/')));
    expect(files.filter((f) => !checked.has(join(dir, f).split('\\').join('/')))).to.deep.equal([]);
  });

  it('each say what must not compile, and what types must be', () => {
    const fixtures = new Set(['expect.ts', 'host.ts', 'tasks.ts']);
    for (const f of files.filter((name) => !fixtures.has(name))) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text, `${f} has no @ts-expect-error line`).to.include('// @ts-expect-error: ');
      expect(text, `${f} checks no exact type`).to.match(/exact<.+>\(\)\(/);
    }
  });
});
