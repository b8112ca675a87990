/** The demo (`sharedref demo`, `npm start`): a short run, its summary and its options. */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { type DemoSummary, formatSummary, parseDemoArgs, runDemo } from '../../demo/demo';

/** A stream that keeps what is written to it. */
function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      w.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

describe('demo', () => {
  it('runs the pool + Wasm workload and every value is disposed exactly once', async function () {
    this.timeout(60_000);
    const out = sink();
    const s: DemoSummary = await runDemo({ workers: 2, duration: 1, objects: 256, json: true }, out);
    expect(JSON.parse(out.text)).to.deep.equal(JSON.parse(JSON.stringify(s)));
    expect(s.perWorker.map((w) => w.worker)).to.deep.equal([0, 1]);
    for (const w of s.perWorker) {
      expect(w.rounds, `worker ${w.worker} rounds`).to.be.greaterThan(0);
      expect(w.held, `worker ${w.worker} had published handles`).to.be.greaterThan(0);
    }
    expect(new Set(s.perWorker.map((w) => w.threadId)).size, 'two different threads').to.equal(2);
    expect(s.created).to.equal(s.perWorker.reduce((n, w) => n + w.created, 0));
    expect(s.disposedBeforeClose).to.equal(s.created);
    expect(s.disposedAtClose).to.equal(0);
    expect(s.collections).to.be.greaterThan(0);
    expect(s.everyValueDisposedExactlyOnce).to.equal(true);
    expect(formatSummary(s)).to.match(/every value disposed exactly once: yes/);
  });

  it('parses its options and names the bad one', () => {
    expect(parseDemoArgs(['--workers', '3', '--duration', '2.5', '--objects', '100', '--json'])).to.deep.equal({
      workers: 3,
      duration: 2.5,
      objects: 100,
      json: true,
    });
    expect(parseDemoArgs([]).duration).to.equal(10);
    expect(() => parseDemoArgs(['--workers', '0'])).to.throw(
      RangeError,
      /--workers needs an integer from 1 to 64, received "0"/,
    );
    expect(() => parseDemoArgs(['--duration'])).to.throw(RangeError, /--duration needs a number .* received nothing/);
    expect(() => parseDemoArgs(['--objects', '2', '--workers', '4'])).to.throw(
      RangeError,
      /--objects \(2\) must be at least --workers \(4\)/,
    );
    expect(() => parseDemoArgs(['--fast'])).to.throw(TypeError, /unknown option "--fast"/);
  });
});
