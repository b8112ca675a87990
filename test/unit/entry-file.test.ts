import { expect } from 'chai';
import { entryFile } from '../../src/thread-entry';

describe('thread entry files', () => {
  it(
    'pass no process-wide flags to a worker when they add ts-node themselves (regression: ' +
      '--expose-gc made Worker throw)',
    () => {
      const saved = [...process.execArgv];
      try {
        process.execArgv.splice(0, process.execArgv.length, '--expose-gc');
        const { filename, execArgv } = entryFile('coordinator');
        expect(filename).to.match(/workers[\\/]coordinator\.ts$/);
        expect(execArgv).to.deep.equal(['--require', 'ts-node/register/transpile-only']);
      } finally {
        process.execArgv.splice(0, process.execArgv.length, ...saved);
      }
    },
  );

  it('let a worker inherit the exec arguments when ts-node is already registered that way', function () {
    if (!process.execArgv.some((a) => a.includes('ts-node'))) this.skip(); // only meaningful under the suite's config
    expect(entryFile('pool-worker').execArgv).to.equal(undefined);
  });
});
