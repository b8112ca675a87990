/**
 * Sequences the adversarial generator (./adversary.test.ts) found against sharedref before the
 * defects they show were fixed, kept as they were shrunk, and replayed before the random ones.
 * Each names the defect it found.
 */
import type { AdvOp } from './adversary';

/** A kept counterexample: what it found, on which property, and the sequence. */
export interface Regression {
  readonly found: string;
  readonly property: 'shared' | 'slow' | 'fresh';
  readonly ops: readonly AdvOp[];
}

export const REGRESSIONS: readonly Regression[] = [
  {
    found: "a root in an array's non-index property or behind a getter crossed as a plain object (second attack)",
    property: 'shared',
    ops: [
      { t: 'newList', s: 0 },
      { t: 'hostile', shape: 7, seed: 1 },
    ],
  },
  {
    found: 'plain data shaped like a transfer marker was adopted as a reference (forged token)',
    property: 'shared',
    ops: [
      { t: 'hostile', shape: 0, seed: 0 },
      { t: 'retype', r: 0, to: 'number' },
      { t: 'clone', r: 0, s: 0 },
    ],
  },
  {
    found: 'a nested dataMutSync of one object waited for the lease timeout instead of ERR_LEASE_REENTRANT',
    property: 'shared',
    ops: [
      { t: 'newList', s: 0 },
      { t: 'badRaw', r: 0, form: 0, entry: 0 },
      { t: 'nested', r: 0, inner: 'dataMutSync' },
    ],
  },
  {
    found: "newWith('constructor') built an Object: inherited names were factories",
    property: 'shared',
    ops: [
      { t: 'protoName', which: 'factory', name: 0 },
      { t: 'clone', r: 0, s: 0 },
      { t: 'gc', sync: false },
    ],
  },
  {
    found: 'typeOf of a class whose name is over 64 bytes came back cut',
    property: 'shared',
    ops: [
      { t: 'newWith', s: 0, sync: false, delay: 0, disposal: 'sync', name: 2 },
      { t: 'clone', r: 0, s: 0 },
      { t: 'settle', p: 0 },
    ],
  },
  {
    found: "the caller's later change to the object its dataMut fn returned showed in this thread's reads",
    property: 'shared',
    ops: [
      { t: 'newList', s: 0 },
      { t: 'mutate', r: 0, how: 'dataMut', delay: 0, wait: false, keepResult: true },
      { t: 'retype', r: 0, to: 'number' },
      { t: 'newWith', s: 0, sync: false, delay: 0, disposal: 'sync', name: 0 },
    ],
  },
  {
    found: 'typeOf stayed the old type after a dataMut that changed it',
    property: 'shared',
    ops: [
      { t: 'newChameleon', s: 0 },
      { t: 'retype', r: 0, to: 'string' },
      { t: 'newChameleon', s: 0 },
    ],
  },
  {
    found: "store.close() released the store's counts only later, and the next createStore could fail",
    property: 'shared',
    ops: [
      { t: 'storeNew' },
      { t: 'newList', s: 0 },
      { t: 'newList', s: 3 },
      { t: 'gc', sync: true },
      { t: 'clone', r: 40, s: 1 },
      { t: 'read', r: 35, sync: false, wait: false },
      { t: 'storeClose', s: 2 },
      { t: 'newList', s: 2 },
      { t: 'i32Raw', r: 58 },
      { t: 'read', r: 63, sync: true, wait: true },
    ],
  },
  {
    found: 'a factory that never settles left newWith pending for ever (I8)',
    property: 'slow',
    ops: [
      { t: 'newWith', s: 0, sync: false, delay: -1, disposal: 'sync', name: 0 },
      { t: 'mutate', r: 0, how: 'dataMut', delay: 0, wait: false, keepResult: false },
      { t: 'settle', p: 0 },
    ],
  },
];
