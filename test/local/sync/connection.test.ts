/**
 * The local Pipe, beyond the primitives contract (test/contract/primitives, run here by
 * test/local/primitives.test.ts): messages ten times the shared-memory ring, a send to an end its
 * thread closed (CPython's BrokenPipeError), what a close delivers first, an end's close shared by
 * every handle of it in one thread, and the handle's arena offsets.
 */
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../../src/api/connection.js';
import type { Queue } from '../../../src/api/queues.js';
import { ClosedError, ErrorCodes } from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { connection } from '../../../src/local/sync/connection.js';
import { queues } from '../../../src/local/sync/queues.js';
import { RING_BYTES } from '../../../src/local/sync/ring.js';
import { pattern } from '../../fixtures/threads/ring-pattern.js';
import { succeeded, useRingThreads } from './ring-threads.js';

const thread = useRingThreads();
const { Pipe } = connection.make() as unknown as {
  Pipe<T>(duplex?: unknown): [Connection<T>, Connection<T>];
};

function revive<T = unknown>(h: SyncHandle): Connection<T> {
  const fn = connection.revive.Connection;
  if (fn === undefined) throw new Error('no Connection reviver');
  return fn(h) as Connection<T>;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
}

describe('Pipe', () => {
  it('carries a message 10 times the ring size intact each way', async () => {
    const [a, b] = Pipe<Uint8Array>();
    const echoing = thread(b, { op: 'echo' });
    await a.send(pattern(10 * RING_BYTES));
    const back = await a.recv();
    // Buffer.equals: a deep toEqual over 640 KiB element by element takes seconds.
    expect(Buffer.from(back).equals(pattern(10 * RING_BYTES))).toBe(true);
    await a.close();
    expect(succeeded(await echoing)).toBe(1);
  });

  describe('send()', () => {
    it('throws ClosedError once the other end closed (CPython: BrokenPipeError)', async () => {
      const [a, b] = Pipe<number>();
      succeeded(await thread(b, { op: 'send', messages: [], close: true }));
      expect(await rejection(a.send(1))).toBeInstanceOf(ClosedError);
    });
  });

  describe('close()', () => {
    it('delivers messages still waiting for room in the sender before the EOF', async () => {
      const [a, b] = Pipe<unknown>();
      const big = pattern(3 * RING_BYTES);
      await a.send(big); // resolves at once: it waits in this thread's feeder
      await a.send('last');
      await a.close();
      expect(a.closed).toBe(true);
      expect(Buffer.from((await b.recv()) as Uint8Array).equals(big)).toBe(true);
      expect(await b.recv()).toBe('last');
      expect(await rejection(b.recv())).toBeInstanceOf(ClosedError);
    });

    it('is shared by every handle of the end, and refuses its own send, recv and poll', async () => {
      const [a, b] = Pipe();
      const a2 = revive(a[SHARE]());
      await a2[Symbol.asyncDispose]();
      expect([a.closed, a2.closed, b.closed]).toEqual([true, true, false]);
      expect(await rejection(a.send(1))).toBeInstanceOf(ClosedError);
      expect(await rejection(a.recv())).toBeInstanceOf(ClosedError);
      expect(await rejection(a.poll())).toBeInstanceOf(ClosedError);
    });
  });

  describe('handle', () => {
    it('is plain numbers, and revives on the same end', async () => {
      const [a, b] = Pipe<number>();
      const h = b[SHARE]();
      expect(h).toEqual({
        $fanfold: 'handle',
        ctx: 'local',
        kind: 'Connection',
        data: { recv: expect.any(Number), send: expect.any(Number) },
      });
      await revive<number>(h).send(5);
      expect(await a.recv()).toBe(5);
    });

    it.each([
      ['data of the wrong type', (h: SyncHandle) => ({ ...h, data: 3 })],
      ['neither direction', (h: SyncHandle) => ({ ...h, data: { recv: null, send: null } })],
      ['an offset of the wrong type', (h: SyncHandle) => ({ ...h, data: { ...h.data, send: '8' } })],
      ['an offset outside the arena', (h: SyncHandle) => ({ ...h, data: { ...h.data, recv: 2 ** 31 } })],
      ['a negative offset', (h: SyncHandle) => ({ ...h, data: { ...h.data, recv: -64 } })],
      [
        "a queue's offset",
        (h: SyncHandle) => {
          const q = (queues.make() as unknown as { Queue(): Queue }).Queue();
          return { ...h, data: { ...h.data, recv: q[SHARE]().data.at } };
        },
      ],
    ])('is refused with %s', (_, spoil) => {
      const h = spoil(Pipe()[0][SHARE]()) as SyncHandle;
      let thrown: unknown;
      try {
        revive(h);
      } catch (e) {
        thrown = e;
      }
      expect((thrown as { code?: string }).code).toBe(ErrorCodes.INVALID_ARGUMENT);
    });
  });
});
