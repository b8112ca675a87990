/**
 * The server soak's clients: closed loops of HTTP requests on loopback against the example
 * server, each with its own seeded choices, every answer checked.
 *
 * Runs in the soak's process. A client holds up to HELD_MAX sessions and knows what each must
 * contain. Its mix: 10% creates (POST, or PUT with an id of its own; past HELD_MAX the oldest
 * session is abandoned, to expire by the server's TTL), 40% appends of 4–32 characters (some
 * outside ASCII) through Wasm on the server's pool, 30% reads that must return exactly what the
 * client appended, 5% deletes, 5% `GET /stats`, and 10% requests that must fail (an unknown
 * session, bad JSON). A session longer than CONTENT_MAX is abandoned too. One request at a time
 * per client, so its sessions' contents are known; the clients together keep the server busy.
 *
 * A 404 for a session the client holds is an error unless the session may have expired: the
 * server touches a session last while answering a request on it, so it cannot expire before a
 * TTL has passed since the client sent that request.
 */
import { type Agent, request as httpRequest } from 'node:http';
import { seeded } from '../fixtures/prng';

/** Sessions a client uses at once; creating one more abandons its oldest (it expires). */
export const HELD_MAX = 16;
/** A session whose content reaches this length is abandoned (it expires): contents stay small. */
const CONTENT_MAX = 2048;
/** Request errors kept for the report (all are counted). */
const ERRORS_KEPT = 20;

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** One HTTP request on loopback; resolves with its status and JSON body (`{}` when empty). */
function send(agent: Agent, port: number, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body, 'utf8');
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, agent, headers: data ? { 'Content-Length': data.length } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
            });
          } catch {
            reject(
              new Error(`${method} ${path}: ${res.statusCode} with a body that is not JSON: ${text.slice(0, 80)}`),
            );
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** Text to append: 4–32 characters, some outside ASCII (UTF-8 of 2 and 3 bytes, a surrogate pair). */
function textOf(rand: () => number): string {
  const alphabet = ['a', 'b', 'c', 'x', 'y', 'z', ' ', ',', '!', 'é', '¡', 'м', 'и', 'р', '€', '😀'];
  let s = '';
  const n = 4 + Math.floor(rand() * 29);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)]!;
  return s;
}

/** A session a client holds: its id, the content it expects, when it last sent a request on it. */
interface Held {
  readonly id: string;
  content: string;
  lastSentAt: number;
}

/** What the clients need to know about the server and the run. */
export interface LoadOptions {
  readonly port: number;
  readonly agent: Agent;
  readonly seed: number;
  /** The server's session TTL, to tell an expired session from a lost one. */
  readonly ttlMs: number;
  /** True once the clients must stop (each finishes the request it is in). */
  readonly stopped: () => boolean;
}

/** The clients and their tally: requests by kind, latencies of the current interval, errors. */
export class ClientLoad {
  readonly #o: LoadOptions;
  #latencies: number[] = [];
  /** Requests answered. */
  requests = 0;
  /** 404s for a held session idle at least a TTL: it expired, as it may. */
  expired = 0;
  /** Request errors: a wrong answer, or no answer. */
  errorCount = 0;
  /** The first ERRORS_KEPT errors, described. */
  readonly errors: string[] = [];
  /** Requests answered, by kind. */
  readonly byKind: Record<string, number> = { create: 0, append: 0, read: 0, delete: 0, stats: 0, bad: 0 };

  constructor(options: LoadOptions) {
    this.#o = options;
  }

  /** The latencies (ms) of the requests answered since the last call. */
  takeLatencies(): number[] {
    const window = this.#latencies;
    this.#latencies = [];
    return window;
  }

  /** Runs client `c` (its own seed) until `stopped()`. */
  async run(c: number): Promise<void> {
    const rand = seeded((this.#o.seed + c * 0x9e3779b9) >>> 0);
    const held: Held[] = [];
    let made = 0;
    while (!this.#o.stopped()) {
      const k = rand();
      if (held.length === 0 || k < 0.1) {
        const content = textOf(rand);
        const own = rand() < 0.3 ? `c${c}-s${this.#o.seed}-${made++}` : null;
        const sentAt = performance.now();
        const body = JSON.stringify({ content });
        const a =
          own === null
            ? await this.#timed('create', 'POST', '/sessions', body)
            : await this.#timed('create', 'PUT', `/sessions/${own}`, body);
        if (a === null) continue;
        const id = a.body.id;
        this.#check(a.status === 201 && typeof id === 'string' && (own === null || id === own), 'create', a);
        if (a.status !== 201 || typeof id !== 'string') continue;
        held.push({ id, content, lastSentAt: sentAt });
        if (held.length > HELD_MAX) held.shift(); // abandoned: the server expires it
      } else if (k < 0.85) {
        await this.#onHeld(held, held[Math.floor(rand() * held.length)]!, k, rand);
      } else if (k < 0.9) {
        const a = await this.#timed('stats', 'GET', '/stats');
        if (a !== null) this.#check(a.status === 200 && typeof a.body.live === 'number', 'stats', a);
      } else if (k < 0.95) {
        const a = await this.#timed('bad', 'GET', `/sessions/never-made-${c}-${Math.floor(rand() * 1e9)}`);
        if (a !== null)
          this.#check(a.status === 404 && a.body.error === 'no_such_session', 'read of an unknown session', a);
      } else {
        const a = await this.#timed('bad', 'POST', '/sessions', '{"content": ');
        if (a !== null) this.#check(a.status === 400 && a.body.error === 'bad_json', 'create with bad JSON', a);
      }
    }
  }

  /** An append (k < 0.5), a read (k < 0.8) or a delete of the held session `s`. */
  async #onHeld(held: Held[], s: Held, k: number, rand: () => number): Promise<void> {
    const prev = s.lastSentAt;
    s.lastSentAt = performance.now();
    const drop = (): void => {
      const i = held.indexOf(s);
      if (i >= 0) held.splice(i, 1);
    };
    let a: Answer | null;
    if (k < 0.5) {
      const text = textOf(rand);
      a = await this.#timed('append', 'POST', `/sessions/${s.id}/append`, text);
      if (a !== null && a.status !== 404) {
        s.content += text;
        this.#check(a.status === 200 && a.body.length === s.content.length, `append to ${s.id}`, a);
        if (s.content.length >= CONTENT_MAX) drop(); // abandoned: the server expires it
      }
    } else if (k < 0.8) {
      a = await this.#timed('read', 'GET', `/sessions/${s.id}`);
      if (a !== null && a.status !== 404) {
        const ok = a.status === 200 && a.body.content === s.content;
        this.#check(ok, `read ${s.id} (expected ${s.content.length} characters)`, a);
      }
    } else {
      drop();
      a = await this.#timed('delete', 'DELETE', `/sessions/${s.id}`);
      if (a !== null && a.status !== 404) this.#check(a.status === 204, `delete ${s.id}`, a);
    }
    if (a?.status === 404) {
      drop();
      const idle = performance.now() - prev;
      if (idle >= this.#o.ttlMs) this.expired++;
      else this.#check(false, `session ${s.id} gone after ${idle.toFixed(0)} ms idle (TTL ${this.#o.ttlMs} ms)`, a);
    }
  }

  /** Sends one request and times it; no answer at all counts as a request error. */
  async #timed(kind: string, method: string, path: string, body?: string): Promise<Answer | null> {
    const t0 = performance.now();
    try {
      const answer = await send(this.#o.agent, this.#o.port, method, path, body);
      this.#latencies.push(performance.now() - t0);
      this.requests++;
      this.byKind[kind]!++;
      return answer;
    } catch (err) {
      this.#fail(`${method} ${path}: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    }
  }

  #check(ok: boolean, what: string, answer: Answer): void {
    if (!ok) this.#fail(`${what}: got ${answer.status} ${JSON.stringify(answer.body).slice(0, 160)}`);
  }

  #fail(what: string): void {
    this.errorCount++;
    if (this.errors.length < ERRORS_KEPT) this.errors.push(what);
  }
}
