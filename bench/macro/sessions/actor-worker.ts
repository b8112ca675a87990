/**
 * piscina worker of the postMessage implementation (actor.ts): every read and append is a message
 * to the actor thread and its answer. Pool workers.
 */
import { MessageChannel, parentPort } from 'node:worker_threads';
import type { ActorAnswer, ActorAsk } from './actor-protocol';
import { type Request, type Session, eventFrom, newSession } from './workload';

const { port1, port2 } = new MessageChannel();
parentPort!.postMessage({ actorClient: port2 }, [port2]);

const waiting = new Map<number, (value: unknown) => void>();
let lastK = 0;
port1.on('message', (a: ActorAnswer) => {
  const resolve = waiting.get(a.k)!;
  waiting.delete(a.k);
  resolve(a.value);
});

type Ask = ActorAsk extends infer A ? (A extends ActorAsk ? Omit<A, 'k'> : never) : never;

function ask(message: Ask): Promise<unknown> {
  const k = ++lastK;
  return new Promise((resolve) => {
    waiting.set(k, resolve);
    port1.postMessage({ ...message, k } as ActorAsk);
  });
}

module.exports = async (r: Request): Promise<number> => {
  if (r.t === 'idle') return 0;
  if (r.t === 'renew') {
    await ask({ op: 'renew', slot: r.slot, session: newSession(r.slot, r.seq) });
    return 0;
  }
  const seen = r.read === null ? null : ((await ask({ op: 'read', slot: r.read })) as Session);
  return (await ask({ op: 'append', slot: r.append, event: eventFrom(seen, r.seq) })) as number;
};
