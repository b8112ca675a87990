/**
 * The cluster's router: which process owns a session, and forwarding one HTTP request to it.
 * Runs in the primary process only; it holds no session and no heap.
 *
 * A session lives in one process's heap, and its id is the only thing that names it across
 * processes: the router hashes the id onto one of the N process slots, exactly as a load balancer
 * configured with a hash on the session id does. The hash is FNV-1a over the id's UTF-8 bytes,
 * modulo N: the slots are fixed for the cluster's life (a replacement process takes over the slot
 * of one that died), so a plain modulo moves no id. A deployment that adds and removes backends
 * uses a consistent hash instead, so that a change moves only the ids of the backend that changed
 * (docs/scaling.md).
 *
 * Requests are forwarded one by one over keep-alive connections to the owner's port, with the
 * hop-by-hop headers dropped both ways (RFC 9110, section 7.6.1) and `X-Sharedref-Process` added to
 * the answer. Rejected: handing each accepted socket to a worker (node:cluster's own
 * distribution). It routes connections, not requests, and one keep-alive connection carries
 * requests for many sessions.
 */
'use strict';
const http = require('node:http');

/** A forwarded request whose process stays silent this long fails with 504: a stuck process never hangs a client. */
const FORWARD_TIMEOUT_MS = 30_000;
/** A process that does not answer `/stats` within this long is reported as down. */
const STATS_TIMEOUT_MS = 2_000;

/** The process slot (0 … n-1) that owns the session `id`. */
function ownerOf(id, n) {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(id, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % n;
}

/** Headers that describe one connection, not the message: never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** `headers` without the hop-by-hop ones (including those the Connection header names). */
function endToEnd(headers) {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase()),
  );
  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && !named.has(name) && value !== undefined) out[name] = value;
  }
  return out;
}

/** Answers `{ error, message }` as JSON with `status`, unless an answer is already on its way. */
function sendJson(res, status, body, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json),
    ...headers,
  });
  res.end(json);
}

/**
 * Forwards `req` to `target` (`{ index, port, agent }`) as `method path`, streaming both bodies,
 * and answers `res` with the target's answer. A target that cannot be reached gets a 503.
 */
function forward(req, res, target, method = req.method, path = req.url) {
  const headers = endToEnd(req.headers);
  const from = req.socket.remoteAddress ?? '';
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${from}` : from;
  const upstream = http.request({ host: '127.0.0.1', port: target.port, method, path, headers, agent: target.agent });
  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, {
      ...endToEnd(answer.headers),
      'x-sharedref-process': String(target.index),
    });
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  let timedOut = false;
  upstream.setTimeout(FORWARD_TIMEOUT_MS, () => {
    timedOut = true;
    upstream.destroy(new Error('timed out'));
  });
  upstream.on('error', () => {
    if (res.headersSent) res.destroy();
    else if (timedOut) {
      const message = `process ${target.index} did not answer within ${FORWARD_TIMEOUT_MS} ms`;
      sendJson(res, 504, { error: 'process_timeout', message }, { 'x-sharedref-process': String(target.index) });
    } else unavailable(res, target.index);
  });
  // The client went away before its answer was complete: stop the forwarded request too.
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

/** Answers 503: process `index` is not serving (it died and its replacement is starting). */
function unavailable(res, index) {
  sendJson(
    res,
    503,
    { error: 'process_unavailable', message: `process ${index} is not serving now; try again shortly` },
    { 'Retry-After': '1', 'x-sharedref-process': String(index) },
  );
}

/** GETs `path` from `target` and parses its JSON answer. */
function getJson(target, path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: target.port, path, agent: target.agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`GET ${path} answered ${res.statusCode}`);
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.setTimeout(STATS_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${STATS_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

/**
 * Every process's `/stats`, and their sum: `{ total, processes: [{ process, pid, up, stats }] }`.
 * A process that does not answer is listed with `up: false` and left out of the total.
 */
async function aggregateStats(slots) {
  const processes = await Promise.all(
    slots.map(async (slot) => {
      const base = { process: slot.index, pid: slot.pid };
      if (slot.port === null) return { ...base, up: false, stats: null };
      try {
        return { ...base, up: true, stats: await getJson(slot, '/stats') };
      } catch {
        return { ...base, up: false, stats: null };
      }
    }),
  );
  const total = {};
  for (const { stats } of processes) {
    for (const [key, value] of Object.entries(stats ?? {})) {
      if (typeof value === 'number') total[key] = (total[key] ?? 0) + value;
    }
  }
  return { total, processes };
}

module.exports = { ownerOf, forward, unavailable, aggregateStats, sendJson };
