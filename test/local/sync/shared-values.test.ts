/**
 * Value and Array on the local context, beyond the primitives contract (test/contract/primitives,
 * run here by test/local/primitives.test.ts): atomicity and exclusion under real contention between
 * threads (integers by an atomic add, doubles by a compare-exchange loop), and the arena offsets
 * and lengths a handle may carry.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError } from '../../../src/errors.js';
import { SHARE } from '../../../src/handles.js';
import { mp, revivers, useParties } from './fixtures/parties.js';

const party = useParties();

describe('Value', () => {
  it('add() is atomic across threads: 4 threads × 5000 add(1) give exactly 20000', async () => {
    const v = mp.Value('i', 0);
    await Promise.all([0, 1, 2, 3].map(() => party([v]).run({ op: 'add', value: 0, n: 5000 })));
    expect(await v.get()).toBe(20000);
  });

  it('add() is atomic for doubles too (a compare-exchange loop)', async () => {
    const v = mp.Value('d', 0.5);
    await Promise.all([0, 1].map(() => party([v]).run({ op: 'add', value: 0, n: 2000 })));
    expect(await v.get()).toBe(4000.5);
  });

  it('withLock() excludes threads from each other: 2 threads × 2000 get+set give exactly 4000', async () => {
    const v = mp.Value('i', 0);
    await Promise.all(
      [0, 1].map(() => party([v.getLock(), v]).run({ op: 'lockedIncrement', lock: 0, value: 1, n: 2000 })),
    );
    expect(await v.get()).toBe(4000);
  });

  it('rejects malformed handles', () => {
    const h = mp.Value('i', 0)[SHARE]();
    expect(() => revivers.Value({ ...h, data: { ...h.data, typecode: 'z' } })).toThrow(ProtocolError);
    expect(() => revivers.Value({ ...h, data: { ...h.data, length: 2 } })).toThrow(ProtocolError);
    expect(() => revivers.Value({ ...h, data: { ...h.data, at: 2 ** 31 } })).toThrow(InvalidArgumentError);
    expect(() => revivers.Value({ ...h, data: { ...h.data, lock: { kind: 'Lock' } } })).toThrow(
      ProtocolError,
    );
  });
});

describe('Array', () => {
  it('add() is atomic per element across threads', async () => {
    const a = mp.Array('Q', 3);
    await Promise.all([0, 1, 2].map(() => party([a]).run({ op: 'add', value: 0, index: 1, n: 3000 })));
    expect(await a.slice()).toEqual([0n, 9000n, 0n]);
  });

  it('refuses a handle whose length runs out of the arena', () => {
    const h = mp.Array('b', [1, 2])[SHARE]();
    expect(() => revivers.Array({ ...h, data: { ...h.data, length: 2 ** 27 } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => revivers.Array({ ...h, data: { ...h.data, length: -1 } })).toThrow(ProtocolError);
  });
});
