/**
 * The worker handler's drain mode and its deadline, in-process on the AWS adapters over moto: a
 * drain event runs the host's own receive loop until the queue stays empty; a Lambda context's
 * remaining time, less the hand-back margin, is the moment the unfinished messages are handed back
 * (visible at once, listed in `batchItemFailures`, a time-limit note for the chunk); a container
 * whose threads cannot start leaves its batch at the short visibility, not the queue's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV } from '../../src/aws/lambda/env.js';
import type { SqsRecord } from '../../src/aws/lambda/events.js';
import { ErrorCodes, ProtocolError } from '../../src/errors.js';
import { useCloudTier } from '../support/cloud.js';
import { lambdaJson, receiveRecords } from './esm.js';
import { type HandlerStack, handlerStacks, job, ok, results, submit } from './handler-stack.js';

const cloud = await useCloudTier();
const { sqs } = cloud.clients;
const stacks = await handlerStacks(cloud, { table: 'fanfold-worker-modes', bucket: 'fanfold-worker-modes' });
/** A Lambda context with this much time left (and a 1 s margin in the stacks below). */
const context = (ms: number) => {
  const end = Date.now() + ms;
  return { getRemainingTimeInMillis: () => end - Date.now() };
};
const MARGIN = { [ENV.handBackMarginMs]: '1000' };
const scratch = mkdtempSync(join(tmpdir(), 'fanfold-worker-modes-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Receives `n` records (a batch, as the mapping would hand it). */
async function records(s: HandlerStack, n: number): Promise<SqsRecord[]> {
  const got: SqsRecord[] = [];
  while (got.length < n) got.push(...(await receiveRecords(sqs, s.queueUrl, s.queueArn, { waitSeconds: 1 })));
  return got;
}

const jobOf = (r: SqsRecord) => (JSON.parse(r.body) as { jobId: string }).jobId;

describe('worker handler: drain events', () => {
  it('drains the queue with its own receive loop and reports what it took', async () => {
    const s = await stacks.deploy();
    const items = Array.from({ length: 12 }, (_, i) => i);
    await ok(s, submit('drain-1', 'square', items, { chunksize: 2 }));
    const report = await s.worker(lambdaJson({ v: 1, type: 'drain', jobId: 'drain-1' } as const));
    expect(report).toEqual({ ended: 'idle', received: 6, handedBack: 0 });
    const j = await job(s, 'drain-1');
    expect(j).toMatchObject({ status: 'DONE', done: 6, total: 6 });
    expect(await results(s, j)).toEqual(items.map((n) => n * n));
    expect(s.errors).toEqual([]);
  });

  it('asks every receive for ten messages, and receives ten at a time', async () => {
    const s = await stacks.deploy();
    const items = Array.from({ length: 30 }, (_, i) => i);
    await ok(s, submit('drain-tens', 'square', items, { chunksize: 1 }));
    // Every ReceiveMessage the drain sends to the work queue, and what it got.
    const receives: { max: number | undefined; got: number }[] = [];
    const name = 'count-receives';
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        const input = args.input as { QueueUrl?: string; MaxNumberOfMessages?: number };
        if (context.commandName === 'ReceiveMessageCommand' && input.QueueUrl === s.queueUrl)
          receives.push({
            max: input.MaxNumberOfMessages,
            got: ((out.output as { Messages?: unknown[] }).Messages ?? []).length,
          });
        return out;
      },
      { step: 'initialize', name },
    );
    try {
      const report = await s.worker(lambdaJson({ v: 1, type: 'drain', jobId: 'drain-tens' } as const));
      expect(report).toEqual({ ended: 'idle', received: 30, handedBack: 0 });
    } finally {
      sqs.middlewareStack.remove(name);
    }
    expect(receives.every((r) => r.max === 10)).toBe(true);
    expect(receives.filter((r) => r.got > 0).map((r) => r.got)).toEqual([10, 10, 10]);
    const j = await job(s, 'drain-tens');
    expect(j).toMatchObject({ status: 'DONE', done: 30, total: 30 });
    expect(await results(s, j)).toEqual(items.map((n) => n * n));
  });

  it('ends at its deadline, handing back the chunk it was running', async () => {
    const s = await stacks.deploy({ env: MARGIN });
    await ok(s, submit('drain-busy', 'busy', ['drain-busy'], { chunksize: 1 }));
    const report = await s.worker(
      lambdaJson({ v: 1, type: 'drain', jobId: 'drain-busy' } as const),
      context(4_000),
    );
    expect(report).toMatchObject({ ended: 'deadline', received: 1, handedBack: 1 });
    const [back] = await records(s, 1);
    expect(back?.attributes.ApproximateReceiveCount).toBe('2');
    expect(await s.backend.store.lastChunkError('drain-busy', 0)).toMatchObject({
      code: ErrorCodes.CHUNK_TIME_LIMIT,
      attempt: 1,
    });
  });

  it('refuses a malformed drain event', async () => {
    const s = await stacks.deploy();
    for (const event of [
      { v: 2, type: 'drain', jobId: 'x' },
      { v: 1, type: 'drain' },
      { v: 1, type: 'drain', jobId: 7 },
    ])
      await expect(s.worker(event)).rejects.toBeInstanceOf(ProtocolError);
  });
});

describe('worker handler: the deadline of a mapping batch', () => {
  it('acknowledges the finished chunks and hands the unfinished ones back before the time limit', async () => {
    const s = await stacks.deploy({ env: MARGIN });
    await ok(s, submit('quick', 'square', [2, 3], { chunksize: 2 }));
    await ok(s, submit('stuck', 'busy', ['stuck'], { chunksize: 1 }));
    const batch = await records(s, 2);
    const stuck = batch.find((r) => jobOf(r) === 'stuck')!;

    // `busy` spins for a minute: the batch ends only because the deadline hands it back.
    const response = await s.worker(lambdaJson({ Records: batch }), context(4_000));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: stuck.messageId }]);
    expect(await results(s, await job(s, 'quick'))).toEqual([4, 9]);
    // Visible at once (the queue's own visibility is 30 s), with a note that says why.
    const [back] = await receiveRecords(sqs, s.queueUrl, s.queueArn, { waitSeconds: 5 });
    expect(back?.messageId).toBe(stuck.messageId);
    expect(await s.backend.store.lastChunkError('stuck', 0)).toMatchObject({
      name: 'ChunkTimeLimitError',
      message: expect.stringContaining("ran past the worker's time limit"),
    });
    expect(s.errors).toEqual([]);
  });

  it('leaves a batch at the short visibility when the container cannot start its threads', async () => {
    const script = join(scratch, 'broken-thread.mjs');
    writeFileSync(script, "throw new Error('this thread script is broken');\n");
    const s = await stacks.deploy({ script, env: { [ENV.visibilityMs]: '1000' } });
    await ok(s, submit('cold', 'square', [1], { chunksize: 1 }));
    const batch = await records(s, 1);
    await expect(s.worker(lambdaJson({ Records: batch }))).rejects.toThrow();
    // The queue would hide it for 30 s; the worker's visibility lets it back after 1 s.
    const [back] = await receiveRecords(sqs, s.queueUrl, s.queueArn, { waitSeconds: 10 });
    expect(back?.messageId).toBe(batch[0]!.messageId);
  });
});
