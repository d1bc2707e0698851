/**
 * Jobs sent through the fan-out tree on the in-memory engine, with hosts running their chunks:
 * small leaves make a tree of a small job, so that every path (a range, lines, in-process items
 * written as segments, a fold, duplicates, a fan-out that fails for good) ends with exact results
 * or a typed error. `test/unit/fanout-tree.test.ts` checks the per-invocation bounds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lines } from '../../src/engine/lines.js';
import { range } from '../../src/engine/range.js';
import { ErrorCodes, FanoutFailedError, ProtocolError } from '../../src/errors.js';
import fixture from '../fixtures/tasks.js';
import { type Engine, startEngine } from './harness.js';

const tasks = fixture.tasks;
let engine: Engine | undefined;
let dir: string | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Counts the requests of each type the coordinator fires at itself. */
function countFanouts(e: Engine): { fanouts: number } {
  const seen = { fanouts: 0 };
  const fire = e.invoker.coordinator.bind(e.invoker);
  e.invoker.coordinator = async (req) => {
    if (req.type === 'fanout') seen.fanouts++;
    return fire(req);
  };
  return seen;
}

describe('jobs through the fan-out tree (memory engine)', () => {
  it('maps a range() of 600 chunks with leaves of 40: exact results, in order', async () => {
    engine = startEngine({ tasks, coordinator: { leafChunks: 40 } });
    const seen = countFanouts(engine);
    const out = await engine.client.map('map', 'square', range(600), { chunksize: 1 });
    expect(out).toEqual(Array.from({ length: 600 }, (_, i) => i * i));
    // 600 chunks: 15 leaves of 40 under the root.
    expect(seen.fanouts).toBe(15);
    expect(engine.backend.store.firstCompletions).toBe(600);
  });

  it('maps in-process items of more chunks than a leaf: written as segments, each chunk read by its slice', async () => {
    engine = startEngine({ tasks, coordinator: { leafChunks: 16 } });
    const items = Array.from({ length: 333 }, (_, i) => `item-${i}`);
    const blobs = engine.backend.blobs;
    const ranged: unknown[] = [];
    const get = blobs.get.bind(blobs);
    blobs.get = (key, r) => {
      if (r) ranged.push(key);
      return get(key, r);
    };
    const out = await engine.client.map('map', 'identity', items, { chunksize: 3, jobId: 'seg' });
    expect(out).toEqual(items);
    // Every chunk's slice, and the leaves' index slices: nothing read whole.
    expect(ranged.filter((k) => String(k).startsWith('jobs/seg/input-')).length).toBeGreaterThanOrEqual(111);
  });

  it('folds a mapReduce whose chunks came through the tree exactly once each', async () => {
    engine = startEngine({ tasks, coordinator: { leafChunks: 8 } });
    const total = await engine.client.mapReduce('square', range(500), 'sum', { value: 0 }, { chunksize: 3 });
    expect(total).toBe(Array.from({ length: 500 }, (_, i) => i * i).reduce((a, b) => a + b, 0));
    expect(engine.backend.store.fences).toEqual([1]);
  });

  it('maps the lines of a file cut into more ranges than a leaf', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fanfold-fanout-'));
    const path = join(dir, 'in.txt');
    const text = Array.from({ length: 400 }, (_, i) => `line ${i}`);
    writeFileSync(path, `${text.join('\n')}\n`);
    engine = startEngine({ tasks, coordinator: { leafChunks: 10 } });
    const out = await engine.client.map('map', 'identity', lines(path, { chunkBytes: 64 }));
    expect(out).toEqual(text);
  });

  it('records each chunk once when every message and every fan-out request is delivered twice', async () => {
    engine = startEngine({ tasks, coordinator: { leafChunks: 20 } });
    engine.backend.queue.duplicateNext(100_000);
    const fire = engine.invoker.coordinator.bind(engine.invoker);
    engine.invoker.coordinator = async (req) => {
      await fire(req);
      await fire(req);
    };
    const out = await engine.client.map('map', 'square', range(300), { chunksize: 2 });
    expect(out).toEqual(Array.from({ length: 300 }, (_, i) => i * i));
    expect(engine.backend.store.firstCompletions).toBe(150);
    expect(engine.backend.store.duplicateCompletions).toBeGreaterThan(0);
  });

  it('fails the job with FanoutFailedError when a range cannot be sent on any attempt', async () => {
    engine = startEngine({ tasks, coordinator: { leafChunks: 10 } });
    // Segments whose blob was never uploaded: every leaf fails to read its index.
    await engine.coordinator.handle({
      v: 1,
      type: 'submit',
      jobId: 'lost-input',
      kind: 'map',
      task: 'identity',
      input: {
        kind: 'segments',
        blob: 'jobs/lost-input/input',
        enc: 'v8',
        items: 50,
        chunksize: 1,
        indexAt: 0,
      },
      workers: 2,
      deadline: Date.now() + 20_000,
    });
    const error = await engine.client.attach('lost-input').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FanoutFailedError);
    expect(error).toMatchObject({
      code: ErrorCodes.FANOUT_FAILED,
      jobId: 'lost-input',
      attempts: 3,
      lastError: { name: 'ProtocolError' },
    });
    expect((error as Error).message).toMatch(
      /fan-out of chunks \d+ to \d+ of job lost-input failed 3 attempts/,
    );
  });

  it('refuses a submit whose segments are missing when it would send them itself', async () => {
    engine = startEngine({ tasks, coordinator: { leafChunks: 100 } });
    const submitting = engine.coordinator.handle({
      v: 1,
      type: 'submit',
      jobId: 'no-input',
      kind: 'map',
      task: 'identity',
      input: {
        kind: 'segments',
        blob: 'jobs/no-input/input',
        enc: 'v8',
        items: 50,
        chunksize: 1,
        indexAt: 0,
      },
      workers: 2,
      deadline: Date.now() + 20_000,
    });
    await expect(submitting).rejects.toBeInstanceOf(ProtocolError);
  });
});
