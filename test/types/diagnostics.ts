/**
 * Type tests: `subscribe(name, listener)` gives each message its channel's type, so a subscriber
 * needs no cast. Compile-only (see expect.ts).
 */
import {
  type AbandonedMessage,
  DIAGNOSTICS_CHANNELS,
  type DiagnosticsListener,
  type GcMessage,
  type LeaseTimeoutMessage,
  type StoreAttachMessage,
  type StoreDetachMessage,
  subscribe,
} from '../../src';
import { exact } from './expect';

export function eachMessageHasItsChannelsType(): void {
  const off = subscribe(DIAGNOSTICS_CHANNELS.gc, (message, name) => {
    exact<GcMessage>()(message);
    exact<'sharedref:gc'>()(name);
    exact<'request' | 'allocation' | 'background' | 'timer' | 'close'>()(message.trigger);
  });
  exact<() => void>()(off);
  subscribe('sharedref:store:attach', (m) => exact<StoreAttachMessage>()(m));
  subscribe(DIAGNOSTICS_CHANNELS.storeDetach, (m) => exact<'close' | 'exit'>()(m.reason));
  subscribe(DIAGNOSTICS_CHANNELS.leaseTimeout, (m) => exact<LeaseTimeoutMessage>()(m));
  subscribe(DIAGNOSTICS_CHANNELS.abandoned, (m) => exact<'method' | 'factory' | 'disposer'>()(m.kind));
  // One listener on several channels takes the union of their messages:
  for (const name of [DIAGNOSTICS_CHANNELS.gc, DIAGNOSTICS_CHANNELS.abandoned] as const) {
    subscribe(name, (m) => exact<GcMessage | AbandonedMessage>()(m));
  }
  const onDetach: DiagnosticsListener<'sharedref:store:detach'> = (m) => exact<StoreDetachMessage>()(m);
  subscribe(DIAGNOSTICS_CHANNELS.storeDetach, onDetach);
  // @ts-expect-error: not one of sharedref's channels
  subscribe('sharedref:nope', () => undefined);
  // @ts-expect-error: a collection's message has no storeId
  subscribe(DIAGNOSTICS_CHANNELS.gc, (m) => m.storeId);
  // @ts-expect-error: a listener of another channel's messages does not fit
  subscribe(DIAGNOSTICS_CHANNELS.gc, onDetach);
}
