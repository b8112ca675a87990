/**
 * Messages between the actor's clients (piscina workers) and the actor thread that owns the
 * sessions (actor.ts), as discriminated unions. Any thread.
 */
import type { Session } from './workload';

/** Client → actor. `k` numbers the client's requests; the answer carries it back. */
export type ActorAsk =
  | { readonly op: 'read'; readonly k: number; readonly slot: number }
  | { readonly op: 'append'; readonly k: number; readonly slot: number; readonly event: string }
  | { readonly op: 'renew'; readonly k: number; readonly slot: number; readonly session: Session };

/** Actor → client: the answer to request `k`. */
export interface ActorAnswer {
  readonly k: number;
  readonly value: unknown;
}
