/**
 * Event on the local context, beyond the primitives contract (test/contract/primitives, run here by
 * test/local/primitives.test.ts): a waiting thread stays alive, and a handle's arena offset is
 * checked.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError } from '../../../src/errors.js';
import { SHARE } from '../../../src/handles.js';
import { mp, revivers, useParties } from './fixtures/parties.js';

const party = useParties();

describe('Event', () => {
  it('keeps a thread alive while it waits, with or without a timeout', async () => {
    const e = mp.Event();
    expect(await party([e]).run({ op: 'detachedWait', t: 0, timeoutMs: 5 })).toBe(false);
    const waiting = party([e]).start({ op: 'detachedWait', t: 0 });
    await waiting.progress;
    await e.set();
    expect(await waiting.done).toBe(true);
  });

  it('refuses a handle without an arena offset, or with one that is not an integer', () => {
    const h = mp.Event()[SHARE]();
    expect(() => revivers.Event({ ...h, data: {} })).toThrow(ProtocolError);
    expect(() => revivers.Event({ ...h, data: { at: 1.5 } })).toThrow(InvalidArgumentError);
    expect(() => revivers.Event({ ...h, data: [] as never })).toThrow(ProtocolError);
  });
});
