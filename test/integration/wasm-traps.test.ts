/** Trap codes: `WasmTrap#trapCode` names Wasmtime's `Trap` variant, one test per code (traps.rs). */
import { expect } from 'chai';
import { ExternRef, Heap, Linker, Module, type Rooted, TRAP_CODES, type TrapCode, WasmTrap } from '../../src';
import { trapCodeOf } from '../../src/errors';
import { throwsCode } from '../helpers';

/** A module whose export `f` (no parameters) traps with `code`. */
const TRAPPING: Partial<Record<TrapCode, string>> = {
  UnreachableCodeReached: '(func (export "f") unreachable)',
  IntegerDivisionByZero: '(func (export "f") (drop (i32.div_u (i32.const 1) (i32.const 0))))',
  IntegerOverflow: '(func (export "f") (drop (i32.div_s (i32.const 0x80000000) (i32.const -1))))',
  BadConversionToInteger: '(func (export "f") (drop (i32.trunc_f64_s (f64.const nan))))',
  MemoryOutOfBounds: '(memory 1) (func (export "f") (drop (i32.load (i32.const 65535))))',
  HeapMisaligned: '(memory 1 1 shared) (func (export "f") (drop (i32.atomic.load (i32.const 2))))',
  TableOutOfBounds: '(table 1 externref) (func (export "f") (drop (table.get 0 (i32.const 1))))',
  StackOverflow: '(func $f (export "f") (call $f))',
  // Every slot null: the call can only have hit a null slot.
  IndirectCallToNull:
    '(type $t (func)) (table (export "t") 2 funcref) (func $g) ' +
    '(func (export "f") (call_indirect (type $t) (i32.const 1)))',
  // No slot null: the call can only have failed the signature check.
  BadSignature:
    '(type $t (func)) (table (export "t") 2 funcref) (elem (i32.const 0) $g $g) (func $g (param i32)) ' +
    '(func (export "f") (call_indirect (type $t) (i32.const 1)))',
};

describe('wasm trap codes', () => {
  // One heap for the suite: each test makes its own instances, and none closes it.
  let heap: Heap;
  before(async () => {
    heap = await Heap.create();
  });
  after(async () => {
    await heap.close();
  });

  for (const [code, wat] of Object.entries(TRAPPING) as Array<[TrapCode, string]>) {
    it(`a guest trap of kind ${code} has trapCode ${JSON.stringify(code)}`, () => {
      const f = new Linker(heap.store)
        .instantiate(Module.fromText(`(module ${wat})`))
        .getTypedFunc('f', { params: [], results: [] });
      const trap = throwsCode(() => f(), 'ERR_WASM_TRAP') as WasmTrap;
      expect(trap).to.be.instanceOf(WasmTrap);
      expect(trap.trapCode).to.equal(code);
      expect(trap.message).to.match(/^wasm trap in f: /);
    });
  }

  it('an indirect call through a table the host cannot reach is named when its slot is known', () => {
    // As the spec suite's call_indirect.wast: a table of the module's own, filled by its element
    // segment only, and the slot passed as the exported function's parameter.
    const wat = `(module
      (type $over-i64 (func (param i64) (result i64)))
      (type $proc (func))
      (table funcref (elem $id-i64 $proc $id-i64))
      (func $id-i64 (type $over-i64) (local.get 0))
      (func $proc (type $proc))
      (func (export "dispatch") (param i32 i64) (result i64)
        (call_indirect (type $over-i64) (local.get 1) (local.get 0)))
      (func (export "constSlot") (result i64) (call_indirect (type $over-i64) (i64.const 1) (i32.const 1))))`;
    const inst = new Linker(heap.store).instantiate(Module.fromText(wat));
    const dispatch = inst.getTypedFunc('dispatch', { params: ['i32', 'i64'], results: ['i64'] });
    expect(dispatch(2, 5n)).to.equal(5n);
    expect((throwsCode(() => dispatch(1, 5n), 'ERR_WASM_TRAP') as WasmTrap).trapCode).to.equal('BadSignature');
    expect((throwsCode(() => dispatch(3, 5n), 'ERR_WASM_TRAP') as WasmTrap).trapCode).to.equal('TableOutOfBounds');
    const constSlot = inst.getTypedFunc('constSlot', { params: [], results: ['i64'] });
    expect((throwsCode(() => constSlot(), 'ERR_WASM_TRAP') as WasmTrap).trapCode).to.equal('BadSignature');
    // Slots 1 and 2 left null by the element segment: the spec suite's "uninitialized element".
    const sparse = `(module
      (type $over-i64 (func (param i64) (result i64)))
      (table 3 funcref)
      (elem (i32.const 0) $id-i64)
      (func $id-i64 (type $over-i64) (local.get 0))
      (func (export "dispatch") (param i32 i64) (result i64)
        (call_indirect (type $over-i64) (local.get 1) (local.get 0))))`;
    const nulls = new Linker(heap.store)
      .instantiate(Module.fromText(sparse))
      .getTypedFunc('dispatch', { params: ['i32', 'i64'], results: ['i64'] });
    expect(nulls(0, 7n)).to.equal(7n);
    expect((throwsCode(() => nulls(2, 7n), 'ERR_WASM_TRAP') as WasmTrap).trapCode).to.equal('IndirectCallToNull');
  });

  it('an indirect call the host cannot decide has trapCode null', () => {
    // The slot is computed, and code writes the table: nothing says which slot was called.
    const wat =
      '(module (type $t (func)) (table 2 funcref) (elem (i32.const 1) $g) (func $g (param i32)) ' +
      '(func (export "f") (param i32) (table.set (i32.const 0) (ref.null func)) ' +
      '(call_indirect (type $t) (i32.add (local.get 0) (i32.const 0)))))';
    const f = new Linker(heap.store)
      .instantiate(Module.fromText(wat))
      .getTypedFunc('f', { params: ['i32'], results: [] });
    expect((throwsCode(() => f(0), 'ERR_WASM_TRAP') as WasmTrap).trapCode).to.equal(null);
    expect((throwsCode(() => f(1), 'ERR_WASM_TRAP') as WasmTrap).trapCode).to.equal(null);
  });

  it('the Wasm GC traps (behind V8 flags on Node 20) map from V8’s messages', () => {
    const cases: Array<[string, TrapCode]> = [
      ['dereferencing a null pointer', 'NullReference'],
      ['array element access out of bounds', 'ArrayOutOfBounds'],
      ['requested new array is too large', 'AllocationTooLarge'],
      ['illegal cast', 'CastFailure'],
    ];
    for (const [message, code] of cases) expect(trapCodeOf(new WebAssembly.RuntimeError(message))).to.equal(code);
    expect(TRAP_CODES).to.include.members([...cases.map(([, c]) => c), ...Object.keys(TRAPPING)]);
  });

  it('a host function’s error and a bad handle have trapCode null; a trap inside a nested call keeps its code', () => {
    const wat = `(module
      (import "host" "boom" (func $boom))
      (import "host" "use" (func $use (param i32)))
      (import "host" "reenter" (func $reenter))
      (func (export "boom") (call $boom))
      (func (export "use") (param i32) (call $use (local.get 0)))
      (func (export "reenter") (call $reenter))
      (func (export "unreachable") unreachable))`;
    let inner: (() => unknown) | null = null;
    const linker = new Linker(heap.store)
      .funcWrap('host', 'boom', { params: [], results: [] }, () => {
        throw new WebAssembly.RuntimeError('unreachable'); // looks like a trap, is a host error
      })
      .funcWrap('host', 'use', { params: ['handle'], results: [] }, () => undefined)
      .funcWrap('host', 'reenter', { params: [], results: [] }, () => inner!());
    const inst = linker.instantiate(Module.fromText(wat));
    inner = inst.getTypedFunc('unreachable', { params: [], results: [] });
    const boom = throwsCode(() => inst.getTypedFunc('boom', { params: [], results: [] })(), 'ERR_WASM_TRAP');
    expect((boom as WasmTrap).trapCode).to.equal(null);
    const bad = throwsCode(() => inst.getTypedFunc('use', { params: ['i32'], results: [] })(0x1234), 'ERR_WASM_TRAP');
    expect((bad as WasmTrap).trapCode).to.equal(null);
    expect((bad.cause as { code?: string }).code).to.equal('ERR_INVALID_HANDLE');
    const nested = throwsCode(() => inst.getTypedFunc('reenter', { params: [], results: [] })(), 'ERR_WASM_TRAP');
    expect((nested as WasmTrap).trapCode).to.equal('UnreachableCodeReached');
  });

  it('a trap releases the call’s roots', () => {
    const wat = '(module (func (export "f") (param externref) unreachable))';
    const f = new Linker(heap.store)
      .instantiate(Module.fromText(wat))
      .getTypedFunc('f', { params: ['externref'], results: [] });
    const before = heap.store.rootCount;
    heap.store.scope(() => {
      const r: Rooted = ExternRef.new(heap.store, 1);
      throwsCode(() => f(r), 'ERR_WASM_TRAP');
    });
    // At most the guest object's own count is left, until V8 collects it.
    expect(heap.store.rootCount - before).to.be.lessThan(2);
  });
});
