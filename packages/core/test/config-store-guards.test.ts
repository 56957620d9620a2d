import { describe, expect, it } from 'vitest';
import { ConfigStoreGuards } from '../src/driver/index.js';

describe('ConfigStoreGuards', () => {
  const g = new ConfigStoreGuards('test-pkg');

  it('names the field of bad input', () => {
    expect(() => g.key('')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'key' }));
    expect(() => g.value(1, 10)).toThrow(expect.objectContaining({ field: 'value' }));
    expect(() => g.value('x'.repeat(11), 10)).toThrow(expect.objectContaining({ field: 'value' }));
    expect(() => g.write({ expectedRevision: -1 })).toThrow(
      expect.objectContaining({ field: 'expectedRevision' }),
    );
    expect(() => g.write({ author: '' })).toThrow(expect.objectContaining({ field: 'author' }));
    expect(() => g.limit(0, 5)).toThrow(expect.objectContaining({ field: 'limit' }));
    expect(() => g.revision(0)).toThrow(expect.objectContaining({ field: 'revision' }));
    expect(g.limit(undefined, 5)).toBe(5);
  });

  it('builds the contract errors and refuses calls once closed', () => {
    expect(g.conflict('k', 3, 4)).toMatchObject({
      code: 'CONFLICT',
      details: { key: 'k', expected: 3, actual: 4 },
    });
    expect(g.notFound('k', 9)).toMatchObject({ code: 'NOT_FOUND', details: { key: 'k', revision: 9 } });
    const closed = new ConfigStoreGuards('test-pkg');
    closed.closed = true;
    expect(() => closed.key('k')).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });
});
