import { expect } from 'chai';
import {
  ErrorCode,
  errorClasses,
  GcHeapOutOfMemory,
  Heap,
  InvalidHandleError,
  NotCloneableError,
  type Pool,
  SharedRefError,
  WasmTrap,
} from '../../src';
import { sampleError } from '../fixtures/error-samples';
import { tasksFile } from '../helpers';

/** Own enumerable fields and the getters every error has, for comparing two errors. */
function fieldsOf(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  for (const k of Object.keys(err)) out[k] = (err as unknown as Record<string, unknown>)[k];
  return out;
}

describe('errors crossing threads', () => {
  let heap: Heap;
  let pool: Pool;
  beforeEach(async () => {
    heap = await Heap.create();
    pool = heap.createPool({ filename: tasksFile, minThreads: 1, maxThreads: 1 });
  });
  afterEach(async () => {
    await heap.close();
  });

  it('every error class thrown in a worker arrives whole: its class, fields, cause and methods', async () => {
    for (const code of Object.values(ErrorCode)) {
      const want = sampleError(code);
      const got = (await pool.run('throwSample', code).then(
        () => expect.fail(`${code}: the task resolved`),
        (e: unknown) => e,
      )) as SharedRefError;
      expect(got, code).to.be.instanceOf(errorClasses[code]).and.instanceOf(SharedRefError).and.instanceOf(Error);
      expect(got.constructor, code).to.equal(errorClasses[code]);
      expect(fieldsOf(got), code).to.deep.equal(fieldsOf(want));
      expect(got.code, code).to.equal(code);
      expect(got.stack, code).to.be.a('string');
      if (want instanceof GcHeapOutOfMemory) {
        // The README's recovery pattern, after a pool.run rejection.
        expect((got as GcHeapOutOfMemory).intoInner()).to.deep.equal(want.intoInner());
      }
      if (want instanceof InvalidHandleError) expect((got as InvalidHandleError).handle).to.equal(0x8000_0005);
      if (want instanceof WasmTrap) {
        expect((got as WasmTrap).trapCode).to.equal('BadSignature'); // as given, not recomputed from the cause
        expect(got.cause).to.be.instanceOf(InvalidHandleError);
        expect((got.cause as InvalidHandleError).handle).to.equal(0x42);
      }
      if (want instanceof NotCloneableError) {
        expect(got.cause).to.be.instanceOf(TypeError);
        expect((got.cause as Error).message).to.equal('a function cannot be cloned');
      }
    }
  });

  it('there is one class per code, and every class is exported under its own name', () => {
    const classes = Object.values(errorClasses);
    expect(new Set(classes).size).to.equal(Object.values(ErrorCode).length);
    for (const [code, Cls] of Object.entries(errorClasses)) {
      const sample = sampleError(code as ErrorCode);
      expect(sample.constructor).to.equal(Cls);
      expect(sample.name).to.equal(Cls.name);
    }
  });
});
