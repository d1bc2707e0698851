/**
 * Fault injection on the in-memory adapters: duplicates, a host dying after each step of the
 * protocol (docs/protocol.md lists each case and points here), retries running out, task errors,
 * cancellation, malformed messages and expiry. Every test asserts exact results and that the job ends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HostStep } from '../../src/engine/host.js';
import { range } from '../../src/engine/range.js';
import { JobCancelledError, JobExpiredError, RetriesExhaustedError, TaskError } from '../../src/errors.js';
import fixture from '../fixtures/tasks.js';
import { dieOnce, type Engine, startEngine } from './harness.js';

const tasks = fixture.tasks;
const squares = (n: number) => Array.from({ length: n }, (_, i) => i * i);
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

describe('engine under faults', () => {
  describe('duplicate deliveries', () => {
    it('records each chunk once and counts it once when every message is delivered twice', async () => {
      engine = startEngine({ tasks });
      engine.backend.queue.duplicateNext(1_000);
      const out = await engine.client.map('map', 'square', range(40), { chunksize: 3 });
      expect(out).toEqual(squares(40));
      const store = engine.backend.store;
      expect(store.firstCompletions).toBe(14);
      expect(store.duplicateCompletions).toBeGreaterThan(0);
      const [job] = [...store.ended.values()];
      expect(job).toMatchObject({ status: 'DONE', done: 14, total: 14 });
    });

    it('folds each partial exactly once in a mapReduce with duplicates', async () => {
      engine = startEngine({ tasks });
      engine.backend.queue.duplicateNext(1_000);
      const total = await engine.client.mapReduce(
        'square',
        range(100),
        'sum',
        { value: 0 },
        { chunksize: 7 },
      );
      expect(total).toBe(squares(100).reduce((a, b) => a + b, 0));
      expect(engine.backend.store.fences).toEqual([1]);
    });
  });

  describe('a host that dies after each step', () => {
    const steps: HostStep[] = ['received', 'ran', 'recorded', 'claimed', 'finished'];
    it.each(steps)('map: dies after "%s"; another host finishes with exact results', async (step) => {
      let e!: Engine;
      const plan = dieOnce(
        step,
        () => true,
        () => e.startHost(),
      );
      e = engine = startEngine({ tasks, visibilityMs: 150, leaseMs: 150 }, plan);
      const out = await e.client.map('map', 'square', range(30), { chunksize: 4 });
      expect(plan.fired()).toBe(true);
      expect(e.hosts[0]!.dead).toBe(true);
      expect(out).toEqual(squares(30));
      expect(e.backend.store.firstCompletions).toBe(8);
      expect([...e.backend.store.ended.values()][0]).toMatchObject({ status: 'DONE', done: 8, total: 8 });
    });

    it.each([...steps, 'folded' as const])(
      'mapReduce: dies after "%s"; the fold happens exactly once',
      async (step) => {
        let e!: Engine;
        const plan = dieOnce(
          step,
          () => true,
          () => e.startHost(),
        );
        e = engine = startEngine({ tasks, visibilityMs: 150, leaseMs: 150 }, plan);
        const out = await e.client.mapReduce('str', range(12), 'concat', { value: '>' }, { chunksize: 5 });
        expect(plan.fired()).toBe(true);
        expect(out).toBe('>01234567891011');
        const store = e.backend.store;
        expect(store.firstCompletions).toBe(3);
        const job = [...store.ended.values()][0]!;
        expect(job.status).toBe('DONE');
        // A finaliser that died holding the lease was replaced under a higher fencing token.
        if (step === 'claimed' || step === 'folded') expect(store.fences).toEqual([1, 2]);
        else expect(store.fences).toEqual([1]);
      },
    );
  });

  describe('retries', () => {
    it('fails the job with RetriesExhaustedError once a chunk has crashed on every delivery', async () => {
      engine = startEngine({ tasks, maxReceiveCount: 3, visibilityMs: 100 });
      let crashes = 0;
      engine.executor.crash = (c) => c.index === 2 && ++crashes > 0;
      const err = await engine.client
        .map('map', 'square', range(20), { chunksize: 4 })
        .catch((x: unknown) => x);
      expect(err).toBeInstanceOf(RetriesExhaustedError);
      expect(err).toMatchObject({ chunkIndex: 2, attempts: 3 });
      expect((err as RetriesExhaustedError).lastError?.message).toContain('thread died running chunk 2');
      expect(crashes).toBe(3);
      expect([...engine.backend.store.ended.values()][0]?.status).toBe('FAILED');
    });

    it('recovers when a chunk crashes fewer times than the limit', async () => {
      engine = startEngine({ tasks, maxReceiveCount: 3, visibilityMs: 100 });
      let crashes = 0;
      engine.executor.crash = (c) => c.index === 1 && crashes++ < 2;
      expect(await engine.client.map('map', 'square', range(20), { chunksize: 4 })).toEqual(squares(20));
      expect(crashes).toBe(3);
    });
  });

  describe('task errors', () => {
    it('ends the job with the task error, its position and remote stack, and runs no more of it', async () => {
      engine = startEngine({ tasks });
      const err = await engine.client
        .map('map', 'failOn', range(400), { chunksize: 1 })
        .catch((x: unknown) => x);
      expect(err).toBeInstanceOf(TaskError);
      expect(err).toMatchObject({ remoteName: 'RangeError', chunkIndex: 7, itemIndex: 7 });
      expect((err as TaskError).remoteStack).toContain('tasks.ts');
      expect(engine.executor.chunkRuns).toBeLessThan(400);
      expect([...engine.backend.store.ended.values()][0]?.status).toBe('FAILED');
    });

    it('fails a mapReduce whose reducer throws during the fold', async () => {
      engine = startEngine({ tasks });
      // 'add' on strings and numbers works; make the fold fail with an unknown reducer instead.
      const err = await engine.client
        .mapReduce('square', range(10), 'nope', undefined, { chunksize: 5 })
        .catch((x: unknown) => x);
      expect(err).toBeInstanceOf(TaskError);
      expect(err).toMatchObject({ remoteName: 'UnknownTaskError' });
    });
  });

  describe('cancellation and expiry', () => {
    it('cancels a running job: the waiter rejects and its remaining chunks are skipped', async () => {
      engine = startEngine({ tasks });
      const e = engine;
      const work = e.client.map(
        'map',
        'spin',
        Array.from({ length: 50 }, () => 5),
        { chunksize: 1 },
      );
      const seen = work.catch((x: unknown) => x);
      while (e.executor.chunkRuns < 2) await new Promise((r) => setImmediate(r));
      await e.client.cancelAll('test');
      expect(await seen).toBeInstanceOf(JobCancelledError);
      expect(e.executor.chunkRuns).toBeLessThan(50);
      expect([...e.backend.store.ended.values()][0]?.status).toBe('CANCELLED');
    });

    it('fails a job that no host ever runs once its deadline passes', async () => {
      engine = startEngine({ tasks, jobTimeoutMs: 300 });
      engine.hosts[0]!.kill();
      await expect(engine.client.map('map', 'square', range(5))).rejects.toBeInstanceOf(JobExpiredError);
      expect([...engine.backend.store.ended.values()][0]).toMatchObject({
        status: 'FAILED',
        error: { reason: 'expired' },
      });
    });
  });

  describe('malformed messages', () => {
    it('sends a malformed message to the dead-letter queue and reports it, while real jobs complete', async () => {
      engine = startEngine({ tasks, maxReceiveCount: 2, visibilityMs: 50 });
      // Bypass the typed API, as a foreign producer would.
      await engine.backend.queue.send([{ v: 1, type: 'chunk', jobId: 'x' } as never]);
      expect(await engine.client.map('map', 'square', range(10))).toEqual(squares(10));
      while (!engine.errors.some((e) => String(e).includes('Dropped a malformed dead letter'))) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(engine.backend.queue.depth()).toEqual({ visible: 0, inFlight: 0 });
      expect(engine.backend.deadLetters.depth()).toEqual({ visible: 0, inFlight: 0 });
    });
  });

  describe('large payloads', () => {
    it('sends inputs and results over the limits through the blob store, never truncated', async () => {
      engine = startEngine({ tasks, maxPayloadBytes: 64, maxInlineBytes: 64 });
      const words = Array.from({ length: 50 }, (_, i) => `word-${i}-${'x'.repeat(i)}`);
      expect(await engine.client.map('map', 'identity', words, { chunksize: 10 })).toEqual(words);
      const joined = await engine.client.mapReduce(
        'identity',
        words,
        'concat',
        { value: '' },
        { chunksize: 10 },
      );
      expect(joined).toBe(words.join(''));
    });
  });

  describe('open jobs (imap)', () => {
    it('finalises a job whose last chunk was recorded before it was sealed', async () => {
      engine = startEngine({ tasks });
      const out: unknown[] = [];
      for await (const x of engine.client.stream('map', 'square', [1, 2, 3], { ordered: true })) out.push(x);
      expect(out).toEqual([1, 4, 9]);
      expect([...engine.backend.store.ended.values()][0]).toMatchObject({
        status: 'DONE',
        done: 3,
        total: 3,
      });
    });
  });
});
