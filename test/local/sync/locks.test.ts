/**
 * Lock and RLock on the local context, beyond the primitives contract (test/contract/primitives,
 * run here by test/local/primitives.test.ts): real contention between threads, the owner an RLock
 * names, and the arena offsets a handle may carry.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError } from '../../../src/errors.js';
import type { SyncHandle } from '../../../src/handles.js';
import { mp, revivers, useParties } from './fixtures/parties.js';

const party = useParties();

function handle(kind: string, data: Record<string, unknown>): SyncHandle {
  return { $fanfold: 'handle', ctx: 'local', kind, data };
}

describe('Lock', () => {
  it('excludes threads from each other: 3 threads × 2000 locked increments give exactly 6000', async () => {
    const lock = mp.Lock();
    const v = mp.Value('i', 0, { lock: false });
    const parties = [0, 1, 2].map(() => party([lock, v]));
    await Promise.all(parties.map((p) => p.run({ op: 'lockedIncrement', lock: 0, value: 1, n: 2000 })));
    expect(await v.get()).toBe(6000);
  });

  it('refuses a handle whose offset is not a lock slot of the arena', () => {
    expect(() => revivers.Lock(handle('Lock', { at: 'x' }))).toThrow(ProtocolError);
    expect(() => revivers.Lock(handle('Lock', { at: 3 }))).toThrow(InvalidArgumentError);
    expect(() => revivers.Lock(handle('Lock', { at: 2 ** 30 }))).toThrow(InvalidArgumentError);
    expect(() => revivers.Lock({ ...handle('Lock', {}), data: null as never })).toThrow(ProtocolError);
  });
});

describe('RLock', () => {
  it('names its owner by thread: thread:<id>, another in another thread', async () => {
    const r = mp.RLock();
    await r.acquire();
    const mine = (await r.state()).owner;
    expect(mine).toMatch(/^thread:\d+$/);
    await r.release();
    const p = party([r]);
    expect(await p.call(0, 'acquire')).toBe(true);
    const theirs = (await p.call(0, 'state')) as { owner: string };
    expect(theirs.owner).toMatch(/^thread:\d+$/);
    expect(theirs.owner).not.toBe(mine);
  });
});
