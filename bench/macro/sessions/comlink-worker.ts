/**
 * piscina worker of the comlink implementation (comlink.ts): every read and append is a comlink
 * call to the thread that owns the sessions. Pool workers.
 */
import { MessageChannel, parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter';
import type { SessionMap } from './map-owner';
import { type Request, eventFrom, newSession } from './workload';

const { port1, port2 } = new MessageChannel();
parentPort!.postMessage({ sessionsPort: port2 }, [port2]);
const sessions = Comlink.wrap<SessionMap>(nodeEndpoint(port1 as never));

module.exports = async (r: Request): Promise<number> => {
  if (r.t === 'idle') return 0;
  if (r.t === 'renew') {
    await sessions.renew(r.slot, newSession(r.slot, r.seq));
    return 0;
  }
  const seen = r.read === null ? null : await sessions.read(r.read);
  return sessions.append(r.append, eventFrom(seen, r.seq));
};
