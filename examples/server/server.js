/**
 * A multi-threaded HTTP server on sharedref: per-session host strings held as references by the
 * main thread, appended to by Wasm running in a worker pool, expired and collected after a TTL.
 *
 * Threads: this main thread serves HTTP and holds the sessions' roots; the heap's coordinator
 * thread owns the strings; pool workers run the Wasm (tasks.js). Only handles and counts cross
 * threads, never the sessions themselves. Plain `node:http`, no framework.
 *
 * Observability: `GET /stats` answers the heap's counters, its collection-pause histogram, and the
 * sharedref diagnostics-channel events this process has seen (counts by channel, the latest few).
 *
 * Run: npm run example:server   (environment: PORT, SESSION_TTL_MS, POOL_THREADS, GENERATION_BITS)
 * As a module, `startServer(options)` starts one without the process-wide parts (signals, logs):
 * examples/cluster runs one per process.
 */
'use strict';
const diagnosticsChannel = require('node:diagnostics_channel');
const http = require('node:http');
const { availableParallelism } = require('node:os');
const { DIAGNOSTICS_CHANNELS, Heap } = require('sharedref');
const { Sessions } = require('./sessions');

/** Largest request body read, in bytes. */
const MAX_BODY = 64 * 1024;
/** Diagnostics events kept for `/stats`. */
const RECENT_EVENTS = 10;

/** An error answered to the client as `{ error, message }` with `status`. */
class HttpError extends Error {
  constructor(status, error, message, headers = {}) {
    super(message);
    this.status = status;
    this.error = error;
    this.headers = headers;
  }
}

/** The integer environment variable `name` in [min, max], or `fallback` when unset. */
function intFromEnv(name, fallback, min, max) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`${name} must be an integer between ${min} and ${max}, received ${JSON.stringify(text)}`);
  }
  return n;
}

/** Answers `body` as JSON (no body when undefined), unless the answer is already on its way. */
function send(res, status, body, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json),
    ...headers,
  });
  res.end(json);
}

/** The request body as text: at most MAX_BODY bytes of valid UTF-8. */
async function readText(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY)
      throw new HttpError(413, 'body_too_large', `the body must be at most ${MAX_BODY} bytes`, { Connection: 'close' });
    chunks.push(chunk);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new HttpError(400, 'bad_body', 'the body is not valid UTF-8');
  }
}

/** A path segment, percent-decoded. */
function pathParam(segment) {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'bad_path', `the path segment ${JSON.stringify(segment)} is not valid percent-encoding`);
  }
}

/** A create's body: empty, or JSON `{"content": "initial text"}`; the initial text. */
async function readContent(req) {
  const text = await readText(req);
  if (text.trim() === '') return '';
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'bad_json', 'the body must be JSON: {"content": "..."} (or empty)');
  }
  if (
    body === null ||
    typeof body !== 'object' ||
    Array.isArray(body) ||
    (body.content !== undefined && typeof body.content !== 'string')
  ) {
    throw new HttpError(400, 'bad_body', 'the body must be an object whose "content", if present, is a string');
  }
  return body.content ?? '';
}

/** Ids a client may choose (`PUT /sessions/{id}`): URL-safe, so that they route unchanged. */
const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;

function notFound(id) {
  return new HttpError(404, 'no_such_session', `no session ${JSON.stringify(id)} (it may have expired)`);
}

/**
 * Subscribes to every sharedref diagnostics channel and keeps, for the heap `heapOf()` returns,
 * the number of events per channel and the latest RECENT_EVENTS. Subscribe before `Heap.create()`:
 * the heap publishes only to channels that had subscribers when it last looked, and the first
 * events (its own store attaching) come at once. Returns `{ counts, recent, stop }`.
 */
function watchEvents(heapOf) {
  const counts = Object.fromEntries(Object.values(DIAGNOSTICS_CHANNELS).map((name) => [name, 0]));
  const recent = [];
  const onMessage = (message, name) => {
    if (message.heapId !== heapOf()?.id) return; // another heap of this process
    counts[name]++;
    recent.push({ channel: name, ...message });
    if (recent.length > RECENT_EVENTS) recent.shift();
  };
  for (const name of Object.keys(counts)) diagnosticsChannel.subscribe(name, onMessage);
  const stop = () => {
    for (const name of Object.keys(counts)) diagnosticsChannel.unsubscribe(name, onMessage);
  };
  return { counts, recent, stop };
}

/** Routes: a path pattern and a handler per method. Handlers return [status, body]. */
function routes(heap, sessions, events) {
  return [
    {
      path: /^\/sessions$/,
      methods: {
        // Body (optional): {"content": "initial text"}.
        async POST(req) {
          return [201, await sessions.create(await readContent(req))];
        },
      },
    },
    {
      path: /^\/sessions\/([^/]+)$/,
      methods: {
        // Creates the session with the client's id (a load balancer can route by it from the first
        // request on). Body (optional): {"content": "initial text"}.
        async PUT(req, id) {
          if (!CLIENT_ID.test(id)) {
            throw new HttpError(400, 'bad_id', `a session id must match ${CLIENT_ID}, received ${JSON.stringify(id)}`);
          }
          const created = await sessions.create(await readContent(req), id);
          if (created === null) throw new HttpError(409, 'session_exists', `session ${JSON.stringify(id)} exists`);
          return [201, created];
        },
        async GET(req, id) {
          const session = await sessions.read(id);
          if (session === null) throw notFound(id);
          return [200, session];
        },
        async DELETE(req, id) {
          if (!sessions.remove(id)) throw notFound(id);
          return [204, undefined];
        },
      },
    },
    {
      path: /^\/sessions\/([^/]+)\/append$/,
      methods: {
        // Body: the text to append, as is.
        async POST(req, id) {
          const text = await readText(req);
          if (text === '') throw new HttpError(400, 'bad_body', 'the body must be the text to append (not empty)');
          const result = await sessions.append(id, text);
          if (result === null) throw notFound(id);
          return [200, result];
        },
      },
    },
    {
      path: /^\/stats$/,
      methods: {
        // The counters stay at the top level (examples/cluster adds them up). The histogram is read
        // first: a collection is counted in `collections` before its pause is recorded.
        async GET() {
          const pauses = heap.pauseHistogram().toJSON();
          return [200, { ...heap.stats(), pauses, events: { counts: events.counts, recent: events.recent } }];
        },
      },
    },
  ];
}

/** Turns a failure into a response; the server goes on in every case. */
function sendError(res, err) {
  if (err instanceof HttpError) {
    send(res, err.status, { error: err.error, message: err.message }, err.headers);
    return;
  }
  // A full heap (on the main thread, or inside the worker's Wasm call as the trap's cause).
  if (err?.code === 'ERR_GC_HEAP_OOM' || err?.cause?.code === 'ERR_GC_HEAP_OOM') {
    send(res, 503, { error: 'heap_full', message: 'the heap is full; try again later' });
    return;
  }
  console.error('request failed:', err);
  send(res, 500, { error: 'internal', message: 'the request failed; see the server log' });
}

function handler(server, table) {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = table.find((r) => r.path.test(path));
    const run = async () => {
      if (route === undefined) throw new HttpError(404, 'no_such_route', `no route ${JSON.stringify(path)}`);
      const fn = Object.hasOwn(route.methods, req.method) ? route.methods[req.method] : undefined;
      if (fn === undefined) {
        const allow = Object.keys(route.methods).join(', ');
        throw new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${path} (allowed: ${allow})`, {
          Allow: allow,
        });
      }
      return fn(req, pathParam(route.path.exec(path)[1]));
    };
    const closing = () => {
      // Once the server is closing, answers close their connection: close() need not wait for
      // clients to drop idle keep-alive connections.
      if (!server.listening && !res.headersSent) res.setHeader('Connection', 'close');
    };
    run()
      .then(
        ([status, body]) => {
          closing();
          send(res, status, body);
        },
        (err) => {
          closing();
          sendError(res, err);
        },
      )
      .catch((err) => {
        console.error('could not answer:', err);
        res.destroy();
      });
  };
}

/** Stops accepting connections and waits for open ones to finish, closing them after `ms`. */
function closeServer(server, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), ms);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Starts the server: a heap, a pool of `threads` workers running the Wasm, the sessions and their
 * expiry, and an HTTP server on `host:port` (0: any free port). `exclusive` is passed to
 * `listen()`: in a `node:cluster` worker it binds a port of the worker's own instead of sharing
 * the primary's. `heapOptions` are passed to `Heap.create` (for example `{ generationBits: 3 }`,
 * which makes handles' generations wrap after 7 reuses of a slot; the soak runs through many
 * wraps so). Resolves once it listens, with `stop()`, which stops taking connections, lets
 * requests in flight finish, unroots every session and closes the heap; it resolves with the
 * heap's final `{ created, disposed }`.
 */
async function startServer({
  port = 0,
  host = '127.0.0.1',
  ttlMs = 60_000,
  threads = 1,
  exclusive = false,
  heapOptions = {},
} = {}) {
  let heap = null;
  const events = watchEvents(() => heap);
  try {
    heap = await Heap.create(heapOptions);
  } catch (err) {
    events.stop();
    throw err;
  }
  const pool = heap.createPool({ filename: require.resolve('./tasks.js'), minThreads: threads, maxThreads: threads });
  const sessions = new Sessions(heap, pool, { ttlMs });

  // Expiry: unroot idle sessions, then collect what they (and replaced contents) held.
  let sweeping = Promise.resolve();
  const sweep = () => {
    sweeping = sweeping
      .then(async () => {
        sessions.expire();
        await sessions.collect();
      })
      .catch((err) => console.error('sweep failed:', err));
  };
  const sweeper = setInterval(sweep, Math.max(10, Math.min(1000, Math.floor(ttlMs / 2))));

  const server = http.createServer();
  server.on('request', handler(server, routes(heap, sessions, events)));
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, exclusive }, resolve);
    });
  } catch (err) {
    clearInterval(sweeper);
    await heap.close();
    events.stop();
    throw err; // the port is taken, for example
  }

  let stopping = null;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(sweeper);
      await closeServer(server, 5000); // requests in flight finish first
      await sweeping;
      sessions.clear();
      await heap.close(); // closes the pool, then disposes every value left, exactly once
      events.stop();
      const { created, disposed } = heap.stats();
      return { created, disposed };
    })());
  return { heap, sessions, server, port: server.address().port, threads, ttlMs, stop };
}

async function main() {
  const port = intFromEnv('PORT', 3000, 0, 65535);
  const ttlMs = intFromEnv('SESSION_TTL_MS', 60_000, 1, 2 ** 31 - 1);
  // One core for this thread and the coordinator, the rest for Wasm; at most 8 workers.
  const threads = intFromEnv('POOL_THREADS', Math.max(1, Math.min(8, availableParallelism() - 1)), 1, 63);
  // Unset: the heap's default (every bit above the slot index); Heap.create checks the range.
  const generationBits = intFromEnv('GENERATION_BITS', undefined, 2, 32);

  const heapOptions = generationBits === undefined ? {} : { generationBits };

  const running = await startServer({ port, ttlMs, threads, heapOptions });
  const threadsText = `${threads} pool thread${threads === 1 ? '' : 's'}`;
  console.log(
    `sharedref example server listening on http://127.0.0.1:${running.port} (${threadsText}, session TTL ${ttlMs} ms)`,
  );

  let stopping = null;
  const shutdown = (signal) => {
    stopping ??= (async () => {
      console.log(`${signal}: shutting down`);
      const { created, disposed } = await running.stop();
      console.log(`closed: ${created} values created, ${disposed} disposed`);
    })().catch((err) => {
      console.error('shutdown failed:', err);
      process.exitCode = 1;
    });
    // Nothing should be left to keep the process alive; if something is, do not hang forever.
    stopping.then(() =>
      setTimeout(() => {
        console.error('still running 5 s after shutdown: something holds the event loop; exiting');
        process.exit(1);
      }, 5000).unref(),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

module.exports = { startServer, intFromEnv };

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof RangeError || err?.code === 'EADDRINUSE' ? err.message : err);
    process.exitCode = 1;
  });
}
