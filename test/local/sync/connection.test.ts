import { describe, expect, it } from 'vitest';
import type { Connection } from '../../../src/api/connection.js';
import type { Queue } from '../../../src/api/queues.js';
import { ClosedError, ErrorCodes, InvalidArgumentError, NotSerializableError } from '../../../src/errors.js';
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
  it('carries messages both ways between threads, in order', async () => {
    const [a, b] = Pipe<unknown>();
    const echoing = thread(b, { op: 'echo' });
    const sent = Array.from({ length: 200 }, (_, i) => ({ i, s: `m${i}`, d: new Date(i) }));
    for (const m of sent) await a.send(m);
    const back: unknown[] = [];
    for (const _ of sent) back.push(await a.recv());
    expect(back).toEqual(sent);
    await a.close();
    expect(succeeded(await echoing)).toBe(200);
  });

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

  it('rejects a duplex that is not a boolean', () => {
    expect(() => Pipe('yes')).toThrow(InvalidArgumentError);
  });

  describe('one-way', () => {
    it('gives [receiveOnly, sendOnly] as CPython does', async () => {
      const [r, w] = Pipe<number>(false);
      expect([r.readable, r.writable, w.readable, w.writable]).toEqual([true, false, false, true]);
      const sending = thread(w, { op: 'send', messages: [1, 2, 3], close: true });
      expect([await r.recv(), await r.recv(), await r.recv()]).toEqual([1, 2, 3]);
      expect(succeeded(await sending)).toBe(3);
    });

    it('refuses the wrong direction at each end (ClosedError)', async () => {
      const [r, w] = Pipe<number>(false);
      expect(await rejection(r.send(1))).toBeInstanceOf(ClosedError);
      expect(await rejection(w.recv())).toBeInstanceOf(ClosedError);
      expect(await rejection(w.poll())).toBeInstanceOf(ClosedError);
    });
  });

  describe('send()', () => {
    it('throws NotSerializableError for a function, leaving the pipe usable', async () => {
      const [a, b] = Pipe<unknown>();
      expect(await rejection(a.send(() => 1))).toBeInstanceOf(NotSerializableError);
      await a.send('after');
      expect(await b.recv()).toBe('after');
      expect(await b.poll()).toBe(false);
    });

    it('throws ClosedError once the other end closed (CPython: BrokenPipeError)', async () => {
      const [a, b] = Pipe<number>();
      succeeded(await thread(b, { op: 'send', messages: [], close: true }));
      expect(await rejection(a.send(1))).toBeInstanceOf(ClosedError);
    });
  });

  describe('poll()', () => {
    it('resolves false at once, and false when timeoutMs runs out', async () => {
      const [a] = Pipe();
      expect(await a.poll()).toBe(false);
      expect(await a.poll(20)).toBe(false);
    });

    it('waits (Infinity: as long as it takes) for a message from another thread without taking it', async () => {
      const [a, b] = Pipe<string>();
      const polling = a.poll(Number.POSITIVE_INFINITY);
      succeeded(await thread(b, { op: 'send', messages: ['hi'] }));
      expect(await polling).toBe(true);
      expect(await a.poll()).toBe(true);
      expect(await a.recv()).toBe('hi');
    });

    it('resolves true once the other end closed (recv would not wait), as CPython', async () => {
      const [a, b] = Pipe();
      const polling = a.poll(20_000);
      succeeded(await thread(b, { op: 'send', messages: [], close: true }));
      expect(await polling).toBe(true);
    });

    it('rejects a timeoutMs that is not a number', async () => {
      const [a] = Pipe();
      expect(await rejection(a.poll('1' as never))).toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('close()', () => {
    it('lets the other thread read what was sent, then its recv() throws ClosedError (CPython: EOFError)', async () => {
      const [a, b] = Pipe<number>();
      await a.send(1);
      await a.close();
      expect(succeeded(await thread(b, { op: 'get' }))).toBe(1);
      const second = await thread(b, { op: 'get' });
      expect(second).toMatchObject({ ok: false, error: { code: ErrorCodes.CLOSED } });
    });

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

    it('wakes a recv() waiting in this thread when the other thread closes', async () => {
      const [a, b] = Pipe();
      const waiting = rejection(a.recv());
      succeeded(await thread(b, { op: 'send', messages: [], close: true }));
      expect(await waiting).toBeInstanceOf(ClosedError);
    });

    it("on a handle given to another thread closes only this copy: the thread's copy still sends, then its close gives EOF", async () => {
      const [a, b] = Pipe<number>();
      const child = thread(b, { op: 'send', messages: [1, 2, 3], close: true });
      await b.close(); // the parent's copy of the child's end, as CPython code closes it after start()
      expect(b.closed).toBe(true);
      expect([await a.recv(), await a.recv(), await a.recv()]).toEqual([1, 2, 3]);
      succeeded(await child);
      expect(await rejection(a.recv())).toBeInstanceOf(ClosedError);
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
