/**
 * What the in-memory adapters do beyond the port contracts: fault injection, the injected clock,
 * limits, FIFO order, close(), and the choices documented on each class.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  InvalidArgumentError,
  PayloadTooLargeError,
  PoolNotRunningError,
  ProtocolError,
} from '../../src/errors.js';
import { type MemoryBackend, memoryBackend } from '../../src/local/memory-backend.js';
import { MemoryBlobStore } from '../../src/local/memory-blobs.js';
import { MemoryQueue } from '../../src/local/memory-queue.js';
import { MemoryJobStore } from '../../src/local/memory-store.js';
import type { Data, Delivery, WorkMessage } from '../../src/ports.js';
import { chunkMessage } from '../contract/work-queue.contract.js';

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

function indices(ds: readonly Delivery[]): number[] {
  return ds.map((d) => (d.body as { index: number }).index);
}

const data = (...bytes: number[]): Data => ({ enc: 'v8', bytes: new Uint8Array(bytes) });

/** A small message without bytes: the cheapest to copy, for volume tests. */
function rangeMessage(index: number): WorkMessage {
  return {
    v: 1,
    type: 'chunk',
    jobId: 'job-1',
    index,
    task: 'square',
    mode: 'map',
    input: { kind: 'range', offset: index, count: 1, start: index, step: 1 },
  };
}

describe('MemoryQueue', () => {
  const open: { close(): void }[] = [];
  function queue(options: ConstructorParameters<typeof MemoryQueue>[0] = {}): MemoryQueue {
    const q = new MemoryQueue(options);
    open.push(q);
    return q;
  }
  afterEach(() => {
    for (const q of open.splice(0)) q.close();
  });

  describe('constructor', () => {
    it('rejects bad options with InvalidArgumentError', () => {
      expect(() => new MemoryQueue({ visibilityMs: -1 })).toThrow(InvalidArgumentError);
      expect(() => new MemoryQueue({ maxReceiveCount: 0 })).toThrow(InvalidArgumentError);
      expect(() => new MemoryQueue({ maxMessageBytes: 1000, maxPayloadBytes: 1000 })).toThrow(
        InvalidArgumentError,
      );
    });

    it('defaults maxPayloadBytes to 3/4 of maxMessageBytes', () => {
      expect(queue().maxPayloadBytes).toBe(768 * 1024);
      expect(queue({ maxMessageBytes: 4000 }).maxPayloadBytes).toBe(3000);
    });
  });

  describe('send()', () => {
    it('enforces maxMessageBytes on the serialized message', async () => {
      const q = queue({ maxMessageBytes: 200 });
      const error = await q.send([chunkMessage(0, new Uint8Array(300))]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect(error).toMatchObject({ limit: 200 });
      expect((error as PayloadTooLargeError).bytes).toBeGreaterThan(300);
    });

    it('copies the message: later changes by the sender do not show', async () => {
      const q = queue();
      const message = chunkMessage(1, new Uint8Array([1, 2]));
      await q.send([message]);
      if (message.type === 'chunk' && message.input.kind === 'items' && 'bytes' in message.input.data) {
        message.input.data.bytes.fill(0);
      }
      const [d] = await q.receive({ max: 1, waitMs: 0 });
      expect(d?.body).toMatchObject({ input: { data: { bytes: new Uint8Array([1, 2]) } } });
    });
  });

  describe('receive()', () => {
    it('returns messages in the order they became visible', async () => {
      const q = queue();
      await q.send([0, 1, 2].map((i) => chunkMessage(i)));
      const [first] = await q.receive({ max: 1, waitMs: 0 });
      await q.setVisibility([first!.receipt], 0);
      expect(indices(await q.receive({ max: 10, waitMs: 0 }))).toEqual([1, 2, 0]);
    });

    it('returns exactly max messages when more are visible', async () => {
      const q = queue();
      await q.send(Array.from({ length: 12 }, (_, i) => chunkMessage(i)));
      expect(await q.receive({ max: 10, waitMs: 0 })).toHaveLength(10);
      expect(await q.receive({ max: 10, waitMs: 0 })).toHaveLength(2);
    });

    it('returns [] at once when the signal is already aborted', async () => {
      const q = queue();
      await q.send([chunkMessage(0)]);
      expect(await q.receive({ max: 1, waitMs: 60_000, signal: AbortSignal.abort() })).toEqual([]);
    });

    it('deserializes a fresh body for every delivery', async () => {
      const q = queue();
      await q.send([chunkMessage(0)]);
      const [a] = await q.receive({ max: 1, waitMs: 0 });
      await q.setVisibility([a!.receipt], 0);
      const [b] = await q.receive({ max: 1, waitMs: 0 });
      expect(b?.body).toEqual(a?.body);
      expect(b?.body).not.toBe(a?.body);
    });

    it('carries 50k messages through send, receive and ack', async () => {
      const q = queue();
      const n = 50_000;
      for (let i = 0; i < n; i += 10) await q.send(Array.from({ length: 10 }, (_, k) => rangeMessage(i + k)));
      let received = 0;
      for (;;) {
        const got = await q.receive({ max: 10, waitMs: 0 });
        if (got.length === 0) break;
        received += got.length;
        await q.ack(got.map((d) => d.receipt));
      }
      expect(received).toBe(n);
      expect(q.depth()).toEqual({ visible: 0, inFlight: 0 });
    });
  });

  describe('with an injected clock', () => {
    it('redelivers once the clock passes the visibility timeout', async () => {
      const clock = fakeClock();
      const q = queue({ visibilityMs: 1000, clock: clock.now });
      await q.send([chunkMessage(0)]);
      await q.receive({ max: 1, waitMs: 0 });
      clock.advance(999);
      expect(q.depth()).toEqual({ visible: 0, inFlight: 1 });
      clock.advance(1);
      expect(q.depth()).toEqual({ visible: 1, inFlight: 0 });
      expect((await q.receive({ max: 1, waitMs: 0 }))[0]?.receiveCount).toBe(2);
    });

    it('wakes a waiting receive on tick()', async () => {
      const clock = fakeClock();
      const q = queue({ visibilityMs: 1000, clock: clock.now });
      await q.send([chunkMessage(0)]);
      await q.receive({ max: 1, waitMs: 0 });
      const waiting = q.receive({ max: 1, waitMs: 60_000 });
      clock.advance(1000);
      q.tick();
      expect((await waiting)[0]?.receiveCount).toBe(2);
    });

    it('lets an ack after the timeout delete a message nobody has received again', async () => {
      const clock = fakeClock();
      const q = queue({ visibilityMs: 1000, clock: clock.now });
      await q.send([chunkMessage(0)]);
      const [d] = await q.receive({ max: 1, waitMs: 0 });
      clock.advance(5000);
      expect(q.depth()).toEqual({ visible: 1, inFlight: 0 });
      await q.ack([d!.receipt]);
      expect(q.depth()).toEqual({ visible: 0, inFlight: 0 });
      expect(await q.receive({ max: 1, waitMs: 0 })).toEqual([]);
    });

    it('moves a message to the dead-letter queue keeping its messageId and receive count', async () => {
      const clock = fakeClock();
      const dlq = queue({ clock: clock.now });
      const q = queue({ visibilityMs: 1000, maxReceiveCount: 3, deadLetter: dlq, clock: clock.now });
      await q.send([chunkMessage(5)]);
      const ids = new Set<string>();
      for (let i = 0; i < 3; i++) {
        for (const d of await q.receive({ max: 1, waitMs: 0 })) ids.add(d.messageId);
        clock.advance(1000);
      }
      expect(await q.receive({ max: 1, waitMs: 0 })).toEqual([]);
      expect(q.depth()).toEqual({ visible: 0, inFlight: 0 });
      const [dead] = await dlq.receive({ max: 1, waitMs: 0 });
      expect(ids).toEqual(new Set([dead?.messageId]));
      expect(dead?.receiveCount).toBe(4);
    });
  });

  describe('under random operations', () => {
    it('agrees with a simple model on what is visible, in flight and deleted', async () => {
      // A seeded generator (mulberry32) keeps any failure reproducible.
      let seed = 12345;
      const random = (): number => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];
      const clock = fakeClock();
      const q = queue({ visibilityMs: 40, clock: clock.now });
      const model = new Map<number, { visibleAt: number; receipt?: string; acked: boolean }>();
      const receipts: string[] = [];
      const isVisible = (m: { visibleAt: number; acked: boolean }): boolean =>
        !m.acked && m.visibleAt <= clock.now();
      let sent = 0;
      for (let step = 0; step < 3000; step++) {
        const r = random();
        if (r < 0.25) {
          const batch = Array.from({ length: 1 + Math.floor(random() * 3) }, () => sent++);
          await q.send(batch.map(rangeMessage));
          for (const i of batch) model.set(i, { visibleAt: clock.now(), acked: false });
        } else if (r < 0.5) {
          const max = 1 + Math.floor(random() * 4);
          const visibilityMs = Math.floor(random() * 60);
          const visible = [...model.values()].filter(isVisible).length;
          const got = await q.receive({ max, waitMs: 0, visibilityMs });
          expect(got).toHaveLength(Math.min(max, visible));
          for (const d of got) {
            const m = model.get((d.body as { index: number }).index)!;
            expect(isVisible(m)).toBe(true);
            Object.assign(m, { visibleAt: clock.now() + visibilityMs, receipt: d.receipt });
            receipts.push(d.receipt);
          }
        } else if (r < 0.65) {
          const receipt = pick(receipts);
          if (receipt === undefined) continue;
          await q.ack([receipt]);
          for (const m of model.values()) if (m.receipt === receipt) m.acked = true;
        } else if (r < 0.8) {
          const receipt = pick(receipts);
          if (receipt === undefined) continue;
          const ms = random() < 0.3 ? 0 : Math.floor(random() * 60);
          await q.setVisibility([receipt], ms);
          for (const m of model.values()) {
            if (m.receipt === receipt && !m.acked && m.visibleAt > clock.now())
              m.visibleAt = clock.now() + ms;
          }
        } else {
          clock.advance(Math.floor(random() * 30));
        }
        const live = [...model.values()].filter((m) => !m.acked);
        const visible = live.filter(isVisible).length;
        expect(q.depth()).toEqual({ visible, inFlight: live.length - visible });
      }
    });
  });

  describe('duplicateNext()', () => {
    it('stores the next n messages twice with the same messageId', async () => {
      const q = queue();
      q.duplicateNext(2);
      await q.send([0, 1, 2].map((i) => chunkMessage(i)));
      const got = await q.receive({ max: 10, waitMs: 0 });
      expect(indices(got)).toEqual([0, 0, 1, 1, 2]);
      expect(got[0]?.messageId).toBe(got[1]?.messageId);
      expect(got[0]?.receipt).not.toBe(got[1]?.receipt);
      expect(got[2]?.messageId).not.toBe(got[0]?.messageId);
    });
  });

  describe('depth()', () => {
    it('counts visible and in-flight messages', async () => {
      const q = queue();
      await q.send([0, 1, 2].map((i) => chunkMessage(i)));
      const [d] = await q.receive({ max: 1, waitMs: 0 });
      expect(q.depth()).toEqual({ visible: 2, inFlight: 1 });
      await q.ack([d!.receipt]);
      expect(q.depth()).toEqual({ visible: 2, inFlight: 0 });
    });
  });

  describe('close()', () => {
    it('resolves pending receives with [] and refuses later sends', async () => {
      const q = queue();
      const waiting = q.receive({ max: 1, waitMs: 60_000 });
      q.close();
      expect(await waiting).toEqual([]);
      expect(await q.receive({ max: 1, waitMs: 60_000 })).toEqual([]);
      await expect(q.send([chunkMessage(0)])).rejects.toBeInstanceOf(PoolNotRunningError);
    });
  });
});

describe('MemoryJobStore', () => {
  const spec = { id: 'j', kind: 'map', task: 't', deadline: 1e13 } as const;

  describe('constructor', () => {
    it('defaults maxInlineBytes to 350 KiB', () => {
      expect(new MemoryJobStore().maxInlineBytes).toBe(350 * 1024);
    });
  });

  describe('createJob()', () => {
    it('stamps createdAt from the clock and starts at version 1', async () => {
      const { job } = await new MemoryJobStore({ clock: () => 42 }).createJob(spec);
      expect(job).toMatchObject({ createdAt: 42, version: 1, status: 'RUNNING', done: 0 });
    });
  });

  describe('seal() and completeChunk()', () => {
    it('throws ProtocolError for an unknown job, an index past the total, or a total under done', async () => {
      const store = new MemoryJobStore();
      await expect(store.seal('nope', 1)).rejects.toBeInstanceOf(ProtocolError);
      await store.createJob({ ...spec, total: 2 });
      await expect(store.completeChunk('j', 2, data(1))).rejects.toMatchObject({ code: ErrorCodes.PROTOCOL });
      await store.createJob({ ...spec, id: 'open' });
      await store.completeChunk('open', 0, data(0));
      await store.completeChunk('open', 1, data(1));
      await expect(store.seal('open', 1)).rejects.toBeInstanceOf(ProtocolError);
      // Either way the job's count can no longer be trusted: it fails.
      expect((await store.getJob('j'))?.status).toBe('FAILED');
      expect((await store.getJob('open'))?.status).toBe('FAILED');
    });

    it('returns first: false and CANCELLED for a job that does not exist', async () => {
      const outcome = await new MemoryJobStore().completeChunk('nope', 0, data(0));
      expect(outcome).toEqual({ first: false, total: undefined, status: 'CANCELLED', complete: false });
    });

    it('counts 100k chunks', async () => {
      const store = new MemoryJobStore();
      await store.createJob({ ...spec, total: 100_000 });
      const result = data(1);
      for (let i = 0; i < 100_000; i++) await store.completeChunk('j', i, result);
      expect((await store.getJob('j'))?.done).toBe(100_000);
    });
  });

  describe('claimFinaliser() and finishJob()', () => {
    it('lets an expired lease finish while nobody has taken it over', async () => {
      const clock = fakeClock();
      const store = new MemoryJobStore({ clock: clock.now });
      await store.createJob({ ...spec, total: 0 });
      const a = await store.claimFinaliser('j', 'a', 1000);
      clock.advance(999);
      expect((await store.claimFinaliser('j', 'b', 1000)).claimed).toBe(false);
      clock.advance(5000);
      // Expired, but nobody took over: the holder may still finish.
      expect(await store.finishJob('j', 'a', a.claimed ? a.fence : 0)).toBe(true);
      expect((await store.getJob('j'))?.status).toBe('DONE');
    });
  });

  describe('cancelJob()', () => {
    it('keeps the reason as an error with the cancelled code', async () => {
      const store = new MemoryJobStore();
      await store.createJob(spec);
      const { job } = await store.cancelJob('j', 'terminate()');
      expect(job?.error).toMatchObject({ code: ErrorCodes.JOB_CANCELLED, message: 'terminate()' });
    });
  });

  describe('getJob() and readResults()', () => {
    it('return copies that later changes and callers cannot touch', async () => {
      const store = new MemoryJobStore();
      await store.createJob({ ...spec, total: 2 });
      const before = await store.getJob('j');
      await store.completeChunk('j', 0, data(1, 2));
      expect(before?.done).toBe(0);
      const read = (await store.readResults('j', [0])).get(0);
      if (read && 'bytes' in read) read.bytes.fill(0);
      expect((await store.readResults('j', [0])).get(0)).toEqual(data(1, 2));
    });
  });

  describe('releaseJob()', () => {
    it('keeps a tombstone for retentionMs, then forgets the job, whose id may then be used again', async () => {
      const clock = fakeClock();
      const store = new MemoryJobStore({ clock: clock.now, retentionMs: 1000 });
      await store.createJob({ ...spec, total: 1 });
      await store.completeChunk('j', 0, data(1));
      await store.releaseJob('j');
      clock.advance(999);
      expect((await store.createJob({ ...spec, total: 1 })).created).toBe(false);
      clock.advance(1);
      expect((await store.createJob({ ...spec, total: 1 })).created).toBe(true);
      expect(await store.readResults('j', [0])).toEqual(new Map());
    });
  });

  describe('close()', () => {
    it('resolves pending waits with the current job', async () => {
      const store = new MemoryJobStore();
      await store.createJob(spec);
      const waiting = store.waitForChange('j', 1, 60_000);
      store.close();
      expect(await waiting).toMatchObject({ id: 'j', version: 1 });
    });
  });
});

describe('MemoryBlobStore', () => {
  describe('put()', () => {
    it('rejects an empty key with InvalidArgumentError', async () => {
      await expect(new MemoryBlobStore().put('', new Uint8Array())).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    });

    it('keeps its own copy of bytes it was not handed over, and of part of a buffer even when it was', async () => {
      const blobs = new MemoryBlobStore();
      const lent = new Uint8Array([1, 2, 3]);
      await blobs.put('lent', lent);
      const whole = new Uint8Array([9, 9, 9, 9, 1, 2, 3]);
      await blobs.put('part', whole.subarray(4), { owned: true });
      lent.fill(0);
      whole.fill(0);
      expect(await blobs.get('lent')).toEqual(new Uint8Array([1, 2, 3]));
      expect(await blobs.get('part')).toEqual(new Uint8Array([1, 2, 3]));
    });

    it('keeps bytes handed over (owned) as they are, and still gives each reader a copy', async () => {
      const blobs = new MemoryBlobStore();
      const given = new Uint8Array([1, 2, 3]);
      await blobs.put('given', given, { owned: true });
      // Not a copy: a change the contract forbids would show (this is what saves the copy).
      given[0] = 7;
      const read = await blobs.get('given');
      expect(read).toEqual(new Uint8Array([7, 2, 3]));
      read.fill(0);
      expect(await blobs.get('given')).toEqual(new Uint8Array([7, 2, 3]));
    });
  });

  describe('get()', () => {
    it('gives a copy, or with lend its own bytes (whole or a range), which a reader must not change', async () => {
      const blobs = new MemoryBlobStore();
      await blobs.put('b', new Uint8Array([1, 2, 3, 4]));
      (await blobs.get('b')).fill(0);
      (await blobs.get('b', { start: 1, end: 3 })).fill(0);
      expect(await blobs.get('b')).toEqual(new Uint8Array([1, 2, 3, 4]));
      const lent = await blobs.get('b', { start: 1, end: 3 }, { lend: true });
      expect(lent).toEqual(new Uint8Array([2, 3]));
      // Lent, not copied: a change the contract forbids would show.
      lent[0] = 9;
      expect(await blobs.get('b', undefined, { lend: true })).toEqual(new Uint8Array([1, 9, 3, 4]));
    });
  });

  describe('keys()', () => {
    it('lists the stored keys, sorted', async () => {
      const blobs = new MemoryBlobStore();
      await blobs.put('b', new Uint8Array([1]));
      await blobs.put('a', new Uint8Array([1]));
      expect(blobs.keys()).toEqual(['a', 'b']);
    });
  });
});

describe('memoryBackend()', () => {
  let backend: MemoryBackend | undefined;
  afterEach(() => backend?.close());

  it('passes the options through to the adapters', () => {
    backend = memoryBackend({ maxMessageBytes: 4000, maxPayloadBytes: 1000, maxInlineBytes: 500 });
    expect(backend.queue.maxPayloadBytes).toBe(1000);
    expect(backend.deadLetters.maxMessageBytes).toBe(4000);
    expect(backend.store.maxInlineBytes).toBe(500);
  });

  it('wires the queue to its dead-letter queue with maxReceiveCount and the clock', async () => {
    const clock = fakeClock();
    backend = memoryBackend({ visibilityMs: 100, maxReceiveCount: 1, clock: clock.now });
    await backend.queue.send([chunkMessage(3)]);
    await backend.queue.receive({ max: 1, waitMs: 0 });
    clock.advance(100);
    expect(await backend.queue.receive({ max: 1, waitMs: 0 })).toEqual([]);
    expect(indices(await backend.deadLetters.receive({ max: 1, waitMs: 0 }))).toEqual([3]);
  });

  it('close() resolves pending receives on both queues', async () => {
    backend = memoryBackend();
    const waiting = Promise.all([
      backend.queue.receive({ max: 1, waitMs: 60_000 }),
      backend.deadLetters.receive({ max: 1, waitMs: 60_000 }),
    ]);
    backend.close();
    expect(await waiting).toEqual([[], []]);
  });
});
