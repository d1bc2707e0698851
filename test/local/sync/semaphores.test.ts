/**
 * Semaphore and BoundedSemaphore on the local context, beyond the primitives contract
 * (test/contract/primitives, run here by test/local/primitives.test.ts): the bound holds for a
 * release from any thread, and a handle's kind and arena offset are checked.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, InvalidArgumentError, ProtocolError } from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { mp, revivers, useParties } from './fixtures/parties.js';

const party = useParties();

describe('Semaphore', () => {
  it('refuses its handle named as bounded, and an offset outside the arena', () => {
    const h = mp.Semaphore(3)[SHARE]();
    expect(() => revivers.BoundedSemaphore({ ...h, kind: 'BoundedSemaphore' })).toThrow(ProtocolError);
    const bad: SyncHandle = { ...h, data: { at: -8 } };
    expect(() => revivers.Semaphore(bad)).toThrow(InvalidArgumentError);
  });
});

describe('BoundedSemaphore', () => {
  it('throws OverReleaseError past the initial value from another thread too', async () => {
    const s = mp.BoundedSemaphore(2);
    await s.acquire();
    await s.release();
    await expect(party([s]).call(0, 'release')).rejects.toMatchObject({ code: ErrorCodes.OVER_RELEASE });
    expect(await s.getValue()).toBe(2);
  });
});
