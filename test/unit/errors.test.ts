import { expect } from 'chai';
import {
  ErrorCode,
  GcHeapOutOfMemory,
  InvalidHandleError,
  SharedRefError,
  UnrootedError,
  WasmTrap,
  deserializeError,
  serializeError,
} from '../../src/errors';

describe('errors', () => {
  it('rebuild as the same class with code, handle and cause after serialization', () => {
    const original = new InvalidHandleError(0xdead, 'test');
    const back = deserializeError(structuredClone(serializeError(original))) as InvalidHandleError;
    expect(back).to.be.instanceOf(InvalidHandleError).and.instanceOf(SharedRefError);
    expect(back.code).to.equal(ErrorCode.INVALID_HANDLE);
    expect(back.handle).to.equal(0xdead);
    expect(back.name).to.equal('InvalidHandleError');
    expect(back.message).to.equal(original.message);
  });

  it('keep a custom code and the cause chain of foreign errors', () => {
    const inner = Object.assign(new TypeError('inner'), { code: 'E_INNER' });
    const outer = new Error('outer', { cause: inner });
    const back = deserializeError(structuredClone(serializeError(outer))) as Error & {
      cause: TypeError & { code: string };
    };
    expect(back.message).to.equal('outer');
    expect(back.cause).to.be.instanceOf(TypeError);
    expect(back.cause.code).to.equal('E_INNER');
  });

  it('GcHeapOutOfMemory hands the value back with intoInner()', () => {
    const value = { big: 'thing' };
    const err = new GcHeapOutOfMemory(value, 4);
    expect(err.code).to.equal('ERR_GC_HEAP_OOM');
    expect(err.intoInner()).to.equal(value);
    expect(new UnrootedError('x').code).to.equal('ERR_UNROOTED');
  });

  it('WasmTrap keeps its trapCode and a cause of our own, whole, after serialization', () => {
    const trap = new WasmTrap('host-string.concat', new InvalidHandleError(0x42), null);
    const back = deserializeError(structuredClone(serializeError(trap))) as WasmTrap;
    expect(back).to.be.instanceOf(WasmTrap);
    expect(back.trapCode).to.equal(null);
    expect(back.cause).to.be.instanceOf(InvalidHandleError);
    expect((back.cause as InvalidHandleError).handle).to.equal(0x42);
    const overflow = new WasmTrap('run', new RangeError('Maximum call stack size exceeded'), 'StackOverflow');
    const again = deserializeError(structuredClone(serializeError(overflow))) as WasmTrap;
    expect([again.trapCode, (again.cause as Error).constructor]).to.deep.equal(['StackOverflow', RangeError]);
  });

  it('pass non-Error throwables through unchanged', () => {
    expect(deserializeError(serializeError({ a: 1 }))).to.deep.equal({ a: 1 });
  });
});
