/**
 * Wasm import calls: two references into a host function, per call, under sharedref's raw ABI
 * and native ABI, against the same import with V8's bare `externref` and no sharedref at all.
 * Main thread.
 */
import { ExternRef, Heap, Linker, Module } from '../../src';
import { timeSyncPair } from '../lib/measure';
import type { Row } from './core';

const WAT = `
(module
  (import "h" "f2" (func $f2 (param externref externref)))
  (import "h" "r2" (func $r2 (param i32 i32)))
  (func (export "loopNative") (param $a externref) (param $b externref) (param $n i32)
    (loop $l
      (call $f2 (local.get $a) (local.get $b))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n))))
  (func (export "loopRaw") (param $a i32) (param $b i32) (param $n i32)
    (loop $l
      (call $r2 (local.get $a) (local.get $b))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))))
`;

/** The Wasm rows. */
export async function runWasm(quick: boolean, progress: (msg: string) => void): Promise<Row[]> {
  const samples = quick ? 15 : 41;
  const n = 20_000;
  const module = Module.fromText(WAT);
  progress('wasm-import: the bare V8 externref instance (the baseline)');
  let sink = 0;
  const bare = new WebAssembly.Instance(module.wasm, {
    h: {
      f2: (a: unknown, b: unknown) => {
        if (a === b) sink++;
      },
      r2: () => undefined,
    },
  }).exports as { loopNative(a: unknown, b: unknown, n: number): void };
  const objA = { a: 1 };
  const objB = { b: 2 };
  const bareLoop = (k: number): void => bare.loopNative(objA, objB, k);

  const heap = await Heap.create();
  try {
    const store = heap.store;
    const linker = new Linker(store)
      .funcWrap('h', 'f2', { params: ['externref', 'externref'], results: [] }, (_c, a, b) => {
        if (a === b) sink++;
      })
      .funcWrap('h', 'r2', { params: ['handle', 'handle'], results: [] }, (_c, a, b) => {
        if (a === b) sink++;
      });
    const inst = linker.instantiate(module);
    const loopNative = inst.getTypedFunc('loopNative', { params: ['externref', 'externref', 'i32'], results: [] });
    const loopRaw = inst.getTypedFunc('loopRaw', { params: ['handle', 'handle', 'i32'], results: [] });
    const a = ExternRef.newManuallyRooted(store, 'a');
    const b = ExternRef.newManuallyRooted(store, 'b');
    // Each row alternates sample by sample with its own run of the bare baseline.
    progress('wasm-import-2-handles (raw ABI)');
    const raw = timeSyncPair((k) => loopRaw(a.toRooted(), b.toRooted(), k), bareLoop, n, samples);
    progress('wasm-import-2-externrefs (native ABI)');
    const native = timeSyncPair((k) => loopNative(a.toRooted(), b.toRooted(), k), bareLoop, n, samples);
    a.unroot();
    b.unroot();
    if (sink < 0) console.log(sink);
    return [
      {
        id: 'wasm-import-2-handles',
        what: 'Wasm import call, two handles (raw ABI)',
        sample: raw.subject,
        baseline: 'same import, bare V8 externref',
        baselineSample: raw.baseline,
        target: 10,
        gap: 'docs/performance.md: wasm-import',
      },
      {
        id: 'wasm-import-2-externrefs',
        what: 'Wasm import call, two externrefs (native ABI)',
        sample: native.subject,
        baseline: 'same import, bare V8 externref',
        baselineSample: native.baseline,
        target: 10,
        gap: 'docs/performance.md: wasm-import',
      },
    ];
  } finally {
    await heap.close();
  }
}
