/**
 * The Lambda handlers' logs and metrics (src/aws/lambda/observe.ts), as Powertools writes them:
 * the worker handler is invoked in-process with the batches of the real queue (moto) and a
 * Lambda context, and everything it writes to stdout and stderr meanwhile is read back as JSON
 * lines: log lines by their `message`, metrics by their embedded-metric-format blob (`_aws`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { POWERTOOLS_ENV } from '../../src/aws/lambda/env.js';
import type { SqsBatchResponse, SqsEvent } from '../../src/aws/lambda/events.js';
import { METRICS } from '../../src/aws/lambda/observe.js';
import { useCloudTier } from '../support/cloud.js';
import { captureJsonLines, type JsonLine } from '../support/stdio.js';
import { lambdaJson, receiveRecords, settle } from './esm.js';
import { type HandlerStack, handlerStacks, job, ok, submit } from './handler-stack.js';

const cloud = await useCloudTier();
const { sqs } = cloud.clients;
const { deploy } = await handlerStacks(cloud, {
  table: 'fanfold-observe',
  bucket: 'fanfold-observe',
  maxReceiveCount: 3,
});
const dir = mkdtempSync(join(tmpdir(), 'fanfold-observe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Line = JsonLine;
const capture = captureJsonLines;

/**
 * Plays the work queue's event source mapping until the queue is empty, each batch an invocation
 * with its own request id (`req-1`, `req-2`, …); returns the lines written and the ids used.
 */
async function runWorker(s: HandlerStack): Promise<{ lines: Line[]; requests: string[] }> {
  const lines: Line[] = [];
  const requests: string[] = [];
  for (let n = 1; n < 50; n++) {
    const records = await receiveRecords(sqs, s.queueUrl, s.queueArn);
    if (records.length === 0) return { lines, requests };
    const awsRequestId = `req-${n}`;
    requests.push(awsRequestId);
    const end = Date.now() + 60_000;
    const context = {
      awsRequestId,
      functionName: 'fanfold-worker',
      memoryLimitInMB: '3538',
      getRemainingTimeInMillis: () => end - Date.now(),
    };
    let response: SqsBatchResponse = { batchItemFailures: [] };
    lines.push(
      ...(await capture(async () => {
        response = await s.worker(lambdaJson({ Records: records } satisfies SqsEvent), context);
      })),
    );
    await settle(sqs, s.queueUrl, records, response);
  }
  throw new Error('the queue never emptied');
}

/** The EMF blobs among `lines`. */
function emf(lines: readonly Line[]): Line[] {
  return lines.filter((l) => typeof l._aws === 'object');
}

/** Every value of metric `name` over the blobs (a blob holds one value or a list). */
function values(blobs: readonly Line[], name: string): number[] {
  return blobs.flatMap((b) => (b[name] === undefined ? [] : ([] as number[]).concat(b[name] as number)));
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('the worker Lambda’s logs and metrics', () => {
  it('logs each chunk at DEBUG with its job, index, attempt and request id, and counts 10 chunks done in EMF', async () => {
    const s = await deploy({
      env: {
        [POWERTOOLS_ENV.logLevel]: 'DEBUG',
        [POWERTOOLS_ENV.namespace]: 'FanfoldObserveTest',
        [POWERTOOLS_ENV.serviceName]: 'observe-test',
      },
    });
    const items = Array.from({ length: 10 }, (_, i) => i);
    await ok(s, submit('obs-10', 'square', items, { chunksize: 1 }));
    const { lines, requests } = await runWorker(s);
    expect((await job(s, 'obs-10')).status).toBe('DONE');

    const recorded = lines.filter((l) => l.message === 'chunk recorded');
    expect(recorded.map((l) => l.chunk).sort((a, b) => Number(a) - Number(b))).toEqual(items);
    for (const l of recorded) {
      expect(l).toMatchObject({ level: 'DEBUG', service: 'observe-test', jobId: 'obs-10', attempt: 1 });
      expect(requests).toContain(l.function_request_id);
      expect(l.ms).toBeTypeOf('number');
    }
    // One summary line per invocation, at INFO, under the invocation's request id.
    const settled = lines.filter((l) => l.message === 'batch settled');
    expect(settled.map((l) => l.function_request_id)).toEqual(requests);
    expect(sum(settled.map((l) => Number(l.messages)))).toBe(10);

    const blobs = emf(lines);
    expect(blobs.length).toBeGreaterThanOrEqual(requests.length);
    for (const b of blobs) {
      const meta = (b._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
        .CloudWatchMetrics[0]!;
      expect(meta.Namespace).toBe('FanfoldObserveTest');
      expect(meta.Dimensions).toEqual([['service']]);
      expect(b.service).toBe('observe-test');
    }
    expect(sum(values(blobs, METRICS.chunksDone))).toBe(10);
    expect(values(blobs, METRICS.chunkDuration)).toHaveLength(10);
    expect(sum(values(blobs, METRICS.batchSize))).toBe(10);
    expect(values(blobs, METRICS.batchSize)).toHaveLength(requests.length);
    expect(values(blobs, METRICS.chunksFailed)).toEqual([]);
    expect(values(blobs, METRICS.chunksRetried)).toEqual([]);
    expect(s.errors).toEqual([]);
  });

  it('writes nothing but the metrics at the default level when every chunk succeeds', async () => {
    const s = await deploy();
    await ok(s, submit('obs-quiet', 'square', [1, 2, 3, 4, 5, 6], { chunksize: 2 }));
    const { lines } = await runWorker(s);
    expect((await job(s, 'obs-quiet')).status).toBe('DONE');
    expect(lines.filter((l) => l._aws === undefined)).toEqual([]);
    const blobs = emf(lines);
    expect(sum(values(blobs, METRICS.chunksDone))).toBe(3);
    // The defaults: namespace and service `fanfold`.
    expect(
      (blobs[0]!._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0]!.Namespace,
    ).toBe('fanfold');
    expect(blobs[0]!.service).toBe('fanfold');
  });

  it('counts and logs a chunk given back after its thread died, then done on its second attempt', async () => {
    const s = await deploy({ env: { [POWERTOOLS_ENV.logLevel]: 'DEBUG' } });
    const marker = join(dir, 'crash-once');
    await ok(s, submit('obs-retry', 'crashOnce', [marker], { chunksize: 1 }));
    const { lines } = await runWorker(s);
    expect((await job(s, 'obs-retry')).status).toBe('DONE');

    const givenBack = lines.filter((l) => l.message === 'chunk attempt given back for another delivery');
    expect(givenBack).toHaveLength(1);
    expect(givenBack[0]).toMatchObject({ level: 'WARN', jobId: 'obs-retry', chunk: 0, attempt: 1 });
    expect(givenBack[0]!.function_request_id).toBe('req-1');
    const recorded = lines.filter((l) => l.message === 'chunk recorded');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ jobId: 'obs-retry', chunk: 0, attempt: 2 });

    const blobs = emf(lines);
    expect(sum(values(blobs, METRICS.chunksRetried))).toBe(1);
    expect(sum(values(blobs, METRICS.chunksDone))).toBe(1);
  });

  it('counts and logs the chunk whose task threw, with the job it failed', async () => {
    const s = await deploy();
    await ok(s, submit('obs-fail', 'throwCoded', [1, 2, 3], { chunksize: 1 }));
    const { lines } = await runWorker(s);
    expect((await job(s, 'obs-fail')).status).toBe('FAILED');

    const failed = lines.filter((l) => l.message === 'job failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      level: 'ERROR',
      jobId: 'obs-fail',
      chunk: 1,
      attempt: 1,
      reason: 'task',
      first: true,
      error: { message: 'coded failure', code: 'E_FIXTURE' },
    });
    expect(sum(values(emf(lines), METRICS.chunksFailed))).toBe(1);
    // Nothing at DEBUG or INFO at the default level.
    expect(lines.filter((l) => l.level === 'DEBUG' || l.level === 'INFO')).toEqual([]);
  });
});
