/**
 * The actor thread of the postMessage implementation (actor.ts): it owns the sessions' `Map` and
 * answers each client on the client's own port, one message at a time. Hand-written: no RPC
 * library, one object per message each way. Its own worker thread.
 */
import { type MessagePort, parentPort } from 'node:worker_threads';
import type { ActorAnswer, ActorAsk } from './actor-protocol';
import { sessionMap } from './map-owner';

const sessions = sessionMap();

function answer(ask: ActorAsk): unknown {
  switch (ask.op) {
    case 'read':
      return sessions.read(ask.slot);
    case 'append':
      return sessions.append(ask.slot, ask.event);
    case 'renew':
      return sessions.renew(ask.slot, ask.session);
  }
}

parentPort!.on('message', (m: { client: MessagePort }) => {
  const port = m.client;
  port.on('message', (ask: ActorAsk) => port.postMessage({ k: ask.k, value: answer(ask) } satisfies ActorAnswer));
});
