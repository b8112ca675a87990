import { expect } from 'chai';
import { defaultHeapOptions, resolveHeapOptions } from '../../src/options';

describe('heap options', () => {
  it('fill in documented defaults', () => {
    expect(resolveHeapOptions(undefined)).to.equal(defaultHeapOptions);
    expect(resolveHeapOptions({ capacity: 100 }).capacity).to.equal(100);
    expect(resolveHeapOptions({ capacity: 100 }).batchSize).to.equal(defaultHeapOptions.batchSize);
  });

  it('name the option and the value received when a value is of the wrong type', () => {
    expect(() => resolveHeapOptions({ capacity: 'big' })).to.throw(
      TypeError,
      'options.capacity must be an integer, received "big"',
    );
    expect(() => resolveHeapOptions({ hostModule: 'relative/path.js' })).to.throw(
      TypeError,
      /options.hostModule must be an absolute path/,
    );
    expect(() => resolveHeapOptions({ debug: 'yes' })).to.throw(TypeError, /options.debug must be a boolean/);
    expect(() => resolveHeapOptions(42)).to.throw(TypeError, 'options must be an object, received 42');
  });

  it('name the option and the range when a value is out of range', () => {
    expect(() => resolveHeapOptions({ capacity: 1 })).to.throw(
      RangeError,
      'options.capacity must be between 2 and 4194304, received 1',
    );
    expect(() => resolveHeapOptions({ maxStores: 0 })).to.throw(RangeError, /options.maxStores/);
  });

  it('reject unknown options by name', () => {
    expect(() => resolveHeapOptions({ capcity: 10 })).to.throw(TypeError, /options.capcity is not a heap option/);
  });
});
