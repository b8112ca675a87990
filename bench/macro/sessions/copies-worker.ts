/**
 * piscina worker of the per-task copies implementation (copies.ts): works on the copies it was
 * given and returns the changed session. Pool workers.
 */
import { type Request, type Session, appendEvent, eventFrom, newSession } from './workload';

module.exports = (task: { r: Request; read?: Session | null; append?: Session }): Session | null => {
  const { r } = task;
  if (r.t === 'idle') return null;
  if (r.t === 'renew') return newSession(r.slot, r.seq);
  return appendEvent(task.append!, eventFrom(task.read!, r.seq));
};
