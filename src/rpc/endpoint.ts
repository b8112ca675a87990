/**
 * The comlink endpoint wrapper: what makes comlink safe to build on.
 *
 * Any thread. comlink 4.4.2 has three gaps that this file closes:
 * - errors lose custom properties such as `code`: the `throw` transfer handler is replaced (on
 *   every thread that loads this module) by one that uses `serializeError`/`deserializeError`;
 * - a call pending when the peer dies never settles: `RpcClient` tracks every pending call and
 *   rejects them all when the port closes or `fail()` is called (I8);
 * - a released proxy leaves its port open: `RpcClient.close()` closes the port itself.
 * It also keeps the port unreferenced while no call is pending, so an idle heap never keeps a
 * process alive, and referenced while one is, so an `await` is never cut short.
 */
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter';
import type { MessagePort } from 'node:worker_threads';
import { NotCloneableError, deserializeError, isSerializedError, serializeError } from '../errors';

const original = Comlink.transferHandlers.get('throw');
if (original !== undefined && !(original as { sharedref?: boolean }).sharedref) {
  const handler = {
    sharedref: true,
    canHandle: original.canHandle,
    serialize(thrown: unknown): [unknown, never[]] {
      const value = (thrown as { value: unknown }).value;
      return [serializeError(value), []];
    },
    deserialize(serialized: unknown): never {
      throw isSerializedError(serialized) ? deserializeError(serialized) : serialized;
    },
  };
  Comlink.transferHandlers.set('throw', handler as Comlink.TransferHandler<unknown, unknown>);
}

/** Exposes `api` on `port` (coordinator side). */
export function exposeOn(api: object, port: MessagePort): void {
  Comlink.expose(api, nodeEndpoint(port as never));
}

type AnyFn = (...args: never[]) => unknown;
type Awaited2<T> = T extends Promise<infer U> ? U : T;

/** A comlink client whose pending calls always settle. */
export class RpcClient<Api extends object> {
  readonly #port: MessagePort;
  readonly #remote: Comlink.Remote<Api>;
  readonly #pending = new Set<(err: unknown) => void>();
  #failure: (() => unknown) | null = null;

  /** `onClose` makes the error pending calls fail with when the port closes (its peer is gone). */
  constructor(port: MessagePort, onClose: () => unknown) {
    this.#port = port;
    this.#remote = Comlink.wrap<Api>(nodeEndpoint(port as never));
    port.unref();
    port.once('close', () => this.fail(onClose));
    // A reply this thread cannot deserialize (a value nested deeper than its stack allows) is
    // dropped by the port with only this event: fail what waits on it rather than wait for ever
    // (I8). The event does not say which call it was, so every pending one fails; later calls go on.
    port.on('messageerror', (err) => {
      const pending = [...this.#pending];
      this.#pending.clear();
      this.#port.unref();
      for (const reject of pending) {
        reject(new NotCloneableError('a reply from the coordinator', err, 'it could not be read on this thread'));
      }
    });
  }

  /** Calls `method` on the peer; rejects with the failure error if the peer is gone. */
  call<K extends keyof Api>(
    method: K,
    ...args: Api[K] extends AnyFn ? Parameters<Api[K]> : never
  ): Promise<Api[K] extends AnyFn ? Awaited2<ReturnType<Api[K]>> : never> {
    if (this.#failure !== null) return Promise.reject(this.#failure());
    return new Promise((resolve, reject) => {
      const onFail = (err: unknown): void => reject(err);
      this.#pending.add(onFail);
      if (this.#pending.size === 1) this.#port.ref();
      const done = (): void => {
        this.#pending.delete(onFail);
        if (this.#pending.size === 0) this.#port.unref();
      };
      const fn = (this.#remote as Record<PropertyKey, (...a: unknown[]) => Promise<unknown>>)[method as PropertyKey]!;
      let p: Promise<unknown>;
      try {
        p = fn(...(args as unknown[]));
      } catch (err) {
        done();
        reject(err);
        return;
      }
      p.then(
        (v) => {
          done();
          resolve(v as never);
        },
        (e: unknown) => {
          done();
          reject(e);
        },
      );
    });
  }

  /** Rejects every pending and future call with `makeError()`; idempotent. */
  fail(makeError: () => unknown): void {
    if (this.#failure !== null) return;
    this.#failure = makeError;
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const reject of pending) reject(makeError());
  }

  /** Fails pending calls and closes the port. */
  close(makeError: () => unknown): void {
    this.fail(makeError);
    this.#port.close();
  }
}
