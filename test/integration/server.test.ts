/**
 * The example HTTP server (examples/server) as a child process: sessions held as references,
 * appends through the pool and Wasm, expiry and collection, bad input, what `/stats` shows
 * (counters, the pause histogram, diagnostics events), graceful shutdown.
 */
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { DIAGNOSTICS_CHANNELS, type HeapStats, type PauseHistogramJson } from '../../src';
import { buildPackage } from '../build';

const repo = join(__dirname, '..', '..');
const TTL_MS = 300;

/** What `GET /stats` answers: the heap's counters, its pause histogram, the events the server saw. */
interface StatsBody extends HeapStats {
  pauses: PauseHistogramJson;
  events: { counts: Record<string, number>; recent: { channel: string; heapId: number }[] };
}

interface Json {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** Starts the server on a free port; resolves with its base URL once it prints it. */
function start(child: ChildProcess, output: { text: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start within 15 s:\n${output.text}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output.text += chunk.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.text);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with code ${code} before listening:\n${output.text}`));
    });
  });
}

describe('example HTTP server', () => {
  let child: ChildProcess | null = null;
  let base = '';
  const output = { text: '' };

  async function request(method: string, path: string, body?: string | Uint8Array<ArrayBuffer>): Promise<Json> {
    const res = await fetch(base + path, { method, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
  }

  async function stats(): Promise<StatsBody> {
    const res = await request('GET', '/stats');
    expect(res.status).to.equal(200);
    return res.body as unknown as StatsBody;
  }

  async function newSession(content: string): Promise<{ id: string; handle: number }> {
    const res = await request('POST', '/sessions', JSON.stringify({ content }));
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body as { id: string; handle: number };
  }

  before(async function () {
    this.timeout(60_000);
    await buildPackage(); // the example requires the built package
    // Two workers, so a string one worker made is read by the other; a short TTL, to see expiry.
    child = spawn(process.execPath, [join('examples', 'server', 'server.js')], {
      cwd: repo,
      env: { ...process.env, PORT: '0', SESSION_TTL_MS: String(TTL_MS), POOL_THREADS: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    base = await start(child, output);
  });

  after(async function () {
    this.timeout(20_000);
    // The last test stops the server; this only cleans up if it did not run or failed.
    const c = child;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    const [code] = (await exited) as [number | null];
    clearTimeout(timer);
    expect(code, output.text).to.equal(0);
  });

  it('creates a session held as a reference and reads its content back', async () => {
    const { id, handle } = await newSession('Hello, ');
    expect(id).to.be.a('string').and.not.equal('');
    expect(handle).to.be.a('number').and.above(0);
    const read = await request('GET', `/sessions/${id}`);
    expect(read.status).to.equal(200);
    expect(read.headers.get('content-type')).to.match(/^application\/json/);
    expect(read.body).to.deep.equal({ id, handle, content: 'Hello, ' });
  });

  it("PUT /sessions/{id} creates a session under the client's id; a taken id is 409, a bad one 400", async () => {
    const id = `client-${process.pid}-${Date.now()}`;
    const put = await request('PUT', `/sessions/${id}`, JSON.stringify({ content: 'chosen' }));
    expect([put.status, put.body.id]).to.deep.equal([201, id]);
    expect((await request('GET', `/sessions/${id}`)).body.content).to.equal('chosen');
    const again = await request('PUT', `/sessions/${id}`, JSON.stringify({ content: 'twice' }));
    expect([again.status, again.body.error]).to.deep.equal([409, 'session_exists']);
    expect((await request('GET', `/sessions/${id}`)).body.content).to.equal('chosen');
    for (const bad of ['a%20b', 'x'.repeat(129), '%C3%A9']) {
      const res = await request('PUT', `/sessions/${bad}`);
      expect([bad.slice(0, 10), res.status, res.body.error]).to.deep.equal([bad.slice(0, 10), 400, 'bad_id']);
    }
  });

  it('appends through Wasm in the pool, swapping the session to a new reference', async () => {
    const { id, handle } = await newSession('Hello, ');
    const appended = await request('POST', `/sessions/${id}/append`, 'World!');
    expect(appended.status, JSON.stringify(appended.body)).to.equal(200);
    expect(appended.body.id).to.equal(id);
    expect(appended.body.length).to.equal('Hello, World!'.length);
    expect(appended.body.handle).to.be.a('number').and.not.equal(handle);
    for (const text of [' ¡Hola', ', мир', '!']) {
      expect((await request('POST', `/sessions/${id}/append`, text)).status).to.equal(200);
    }
    const read = await request('GET', `/sessions/${id}`);
    expect(read.body.content).to.equal('Hello, World! ¡Hola, мир!');
  });

  it('concurrent appends to one session all land, one at a time, while other sessions run in parallel', async () => {
    const sessions = await Promise.all([newSession('a:'), newSession('b:')]);
    const tokens = Array.from({ length: 8 }, (_, i) => `<${i}>`);
    const results = await Promise.all(
      sessions.flatMap(({ id }) => tokens.map((t) => request('POST', `/sessions/${id}/append`, t))),
    );
    expect(results.map((r) => r.status)).to.deep.equal(results.map(() => 200));
    for (const [i, { id }] of sessions.entries()) {
      const read = await request('GET', `/sessions/${id}`);
      expect(read.status, JSON.stringify(read.body)).to.equal(200);
      const content = read.body.content as string;
      const prefix = i === 0 ? 'a:' : 'b:';
      expect(content.startsWith(prefix)).to.equal(true);
      // Every token exactly once, in whichever order the appends were queued.
      expect(content.slice(prefix.length).match(/<\d>/g)!.sort()).to.deep.equal([...tokens].sort());
      expect(content.length).to.equal(prefix.length + tokens.join('').length);
    }
    // Each append saw every append queued before it: one session's lengths are 5, 8, 11, ...
    const lengths = results.slice(0, tokens.length).map((r) => r.body.length as number);
    expect(lengths.sort((x, y) => x - y)).to.deep.equal(tokens.map((t, i) => 'a:'.length + t.length * (i + 1)));
  });

  it('GET /stats returns the heap counters as JSON', async () => {
    const res = await request('GET', '/stats');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    for (const field of [
      'capacity',
      'live',
      'free',
      'reserved',
      'created',
      'disposed',
      'collections',
      'stores',
      'pendingRelease',
      'wraps',
    ]) {
      expect(res.body[field], field).to.be.a('number');
    }
    const s = res.body as unknown as HeapStats;
    expect(s.capacity).to.be.above(0);
    expect(s.created).to.be.at.least(s.disposed);
    expect(s.stores).to.equal(3); // the main thread and two pool workers
  });

  it('answers bad input with 4xx JSON errors and keeps serving', async () => {
    const { id } = await newSession('x');
    const cases: [string, string, string | Uint8Array<ArrayBuffer> | undefined, number, string][] = [
      ['POST', `/sessions/${id}/append`, '', 400, 'bad_body'],
      ['POST', `/sessions/${id}/append`, new Uint8Array([0x66, 0xff, 0xfe]), 400, 'bad_body'],
      ['POST', `/sessions/${id}/append`, 'y'.repeat(65 * 1024), 413, 'body_too_large'],
      ['GET', '/sessions/no-such-id', undefined, 404, 'no_such_session'],
      ['POST', '/sessions/no-such-id/append', 'text', 404, 'no_such_session'],
      ['DELETE', '/sessions/no-such-id', undefined, 404, 'no_such_session'],
      ['GET', '/no/such/route', undefined, 404, 'no_such_route'],
      ['POST', '/sessions', '{"content": ', 400, 'bad_json'],
      ['POST', '/sessions', '{"content": 42}', 400, 'bad_body'],
      ['POST', '/sessions', '[]', 400, 'bad_body'],
      ['GET', '/sessions/%E0%A4%A', undefined, 400, 'bad_path'],
      ['PUT', '/stats', undefined, 405, 'method_not_allowed'],
      ['GET', '/sessions', undefined, 405, 'method_not_allowed'],
      ['GET', `/sessions/${id}/append`, undefined, 405, 'method_not_allowed'],
    ];
    // The rejected appends did not touch the session (read it before its TTL can pass).
    const responses: Json[] = [];
    for (const [method, path, body] of cases.slice(0, 3)) responses.push(await request(method, path, body));
    expect((await request('GET', `/sessions/${id}`)).body.content).to.equal('x');
    for (const [method, path, body] of cases.slice(3)) responses.push(await request(method, path, body));
    for (const [i, [method, path, , status, error]] of cases.entries()) {
      const res = responses[i]!;
      expect([method, path.slice(0, 40), res.status, res.body.error]).to.deep.equal([
        method,
        path.slice(0, 40),
        status,
        error,
      ]);
      expect(res.body.message).to.be.a('string').and.not.equal('');
    }
    expect(responses.at(-3)!.headers.get('allow')).to.equal('GET');
    expect(responses.at(-1)!.headers.get('allow')).to.equal('POST');
    expect((await request('GET', '/stats')).status).to.equal(200);
  });

  it('DELETE unroots a session: it answers 404 afterwards and its value is collected', async () => {
    const { id } = await newSession('to delete');
    const before = await stats();
    expect((await request('DELETE', `/sessions/${id}`)).status).to.equal(204);
    expect((await request('GET', `/sessions/${id}`)).status).to.equal(404);
    expect((await request('DELETE', `/sessions/${id}`)).status).to.equal(404);
    let now = before;
    await waitForAsync(
      async () => (now = await stats()).disposed > before.disposed,
      'the deleted session to be disposed',
    );
    expect(now.collections).to.be.above(before.collections);
  });

  it('expired sessions are unrooted and collected: live falls to 0 and every value is disposed', async () => {
    const { id } = await newSession('short-lived');
    expect((await request('POST', `/sessions/${id}/append`, ' and appended')).status).to.equal(200);
    const before = await stats();
    expect(before.live).to.be.above(0);
    let now = before;
    await waitForAsync(async () => (now = await stats()).live === 0, 'every session to expire and be collected');
    expect(now.disposed).to.be.above(before.disposed);
    expect(now.disposed).to.equal(now.created);
    expect((await request('GET', `/sessions/${id}`)).status).to.equal(404);
  });

  it('GET /stats shows the collection-pause histogram and the diagnostics events the server saw', async () => {
    let s = await stats();
    await waitForAsync(
      async () => (s = await stats()).pauses.count > 0 && s.events.counts['sharedref:gc']! > 0,
      'a collection to be recorded and published',
    );
    // Each collection is counted, then recorded, then published: neither runs ahead of the counter.
    expect(s.pauses.count).to.be.at.most(s.collections);
    expect(s.events.counts['sharedref:gc']).to.be.at.most(s.collections);
    const { min, max, mean, percentiles } = s.pauses;
    expect(mean).to.be.within(min, max);
    expect([percentiles['0'], percentiles['100']]).to.deep.equal([min, max]);
    expect(percentiles['50']).to.be.within(min, max);
    const names = Object.values(DIAGNOSTICS_CHANNELS);
    expect(Object.keys(s.events.counts).sort()).to.deep.equal([...names].sort());
    // The main thread's store and the two pool workers' (subscribed before the heap was created).
    expect(s.events.counts['sharedref:store:attach']).to.be.at.least(3);
    expect(s.events.recent.length).to.be.within(1, 10);
    for (const e of s.events.recent) {
      expect(names).to.include(e.channel);
      expect(e.heapId).to.be.a('number');
    }
  });

  it('stops on SIGTERM: refuses new connections, disposes every value and exits with code 0', async () => {
    const c = child!;
    await newSession('left open at shutdown');
    const exited = once(c, 'exit');
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    clearTimeout(timer);
    expect([code, signal], output.text).to.deep.equal([0, null]);
    const closed = /closed: (\d+) values created, (\d+) disposed/.exec(output.text);
    expect(closed, output.text).to.not.equal(null);
    expect(closed![2]).to.equal(closed![1]);
    let refused: unknown = null;
    await fetch(`${base}/stats`).catch((err: unknown) => (refused = err));
    expect(refused).to.be.instanceOf(Error);
  });
});

/** Polls an async check until it is true; fails after `ms`. */
async function waitForAsync(check: () => Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
