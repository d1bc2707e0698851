/**
 * Barrier on the local context, beyond the primitives contract (test/contract/primitives, run here
 * by test/local/primitives.test.ts): three threads released together, CPython's `action` refused,
 * and malformed handles.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError } from '../../../src/errors.js';
import { SHARE } from '../../../src/handles.js';
import { mp, revivers, useParties } from './fixtures/parties.js';

const party = useParties();

describe('Barrier', () => {
  it('releases three threads together with the indices 0, 1 and 2', async () => {
    const b = mp.Barrier(3);
    const running = [0, 1, 2].map(() => party([b]).start({ op: 'wait', t: 0 }));
    expect((await Promise.all(running.map((r) => r.done))).sort()).toEqual([0, 1, 2]);
    expect(await b.nWaiting()).toBe(0);
  });

  it("refuses CPython's action (a function cannot reach the other threads)", () => {
    expect(() => mp.Barrier(2, { action: () => 0 } as never)).toThrow(InvalidArgumentError);
  });

  it('rejects malformed handles', () => {
    const h = mp.Barrier(2)[SHARE]();
    expect(() => revivers.Barrier({ ...h, data: { ...h.data, parties: 0 } })).toThrow(ProtocolError);
    expect(() => revivers.Barrier({ ...h, data: { ...h.data, timeoutMs: -1 } })).toThrow(ProtocolError);
    expect(() => revivers.Barrier({ ...h, data: { ...h.data, at: 12 } })).toThrow(InvalidArgumentError);
  });
});
