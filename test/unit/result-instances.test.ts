/**
 * A class instance a task returns is refused where the chunk's results are encoded (the code a
 * Lambda worker and a local thread both run), and reaches the caller as the NotSerializableError
 * it was, its class named, after the trip through a job's error record (JSON on DynamoDB).
 */
import { describe, expect, it } from 'vitest';
import { encodeList } from '../../src/engine/codec.js';
import { throwIfEnded } from '../../src/engine/job-watch.js';
import { type InlineChunk, runChunk } from '../../src/engine/run-chunk.js';
import { NotSerializableError, TaskError } from '../../src/errors.js';
import type { JobRecord } from '../../src/ports.js';
import type { TaskMap } from '../../src/task-map.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const tasks = {
  pointOn2: (n: number) => (n === 2 ? { at: [new Point(n, n)] } : n),
  pair: (n: number) => [n, n],
  double: (n: number) => n * 2,
} as unknown as TaskMap;

function chunk(task: string, items: number[], offset = 10): InlineChunk {
  const data = encodeList(items);
  return {
    jobId: 'j',
    index: 3,
    task,
    mode: 'map',
    input: { kind: 'items', offset, count: items.length, data },
  };
}

describe('a class instance in a chunk’s results', () => {
  it('fails the chunk with NotSerializableError at the item’s position, naming its class', async () => {
    const out = await runChunk(tasks, chunk('pointOn2', [1, 2, 3]));
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.error).toMatchObject({
      name: 'NotSerializableError',
      code: 'ERR_FANFOLD_NOT_SERIALIZABLE',
      className: 'Point',
      chunkIndex: 3,
      itemIndex: 11,
    });
    expect(out.error.message).toContain('(at .at[0])');
    // The job's error record, as the DynamoDB store keeps it, to the caller.
    const error = JSON.parse(JSON.stringify({ ...out.error, reason: 'task' }));
    const job = { id: 'j', status: 'FAILED', error } as unknown as JobRecord;
    const thrown = (() => {
      try {
        throwIfEnded(job);
      } catch (e) {
        return e;
      }
    })();
    expect(thrown).toBeInstanceOf(NotSerializableError);
    expect(thrown).toMatchObject({ className: 'Point', position: 11, message: out.error.message });
    expect((thrown as Error).cause).toBeInstanceOf(TaskError);
  });

  it('leaves plain results alone: numbers as a Float64Array, arrays through v8', async () => {
    const nums = await runChunk(tasks, chunk('double', [1, 2]));
    expect(nums).toMatchObject({ ok: true, result: { enc: 'f64' } });
    const pairs = await runChunk(tasks, chunk('pair', [1, 2]));
    expect(pairs).toMatchObject({ ok: true, result: { enc: 'v8' } });
  });

  it('keeps any other task failure a TaskError', () => {
    const job = {
      id: 'j',
      status: 'FAILED',
      error: {
        reason: 'task',
        name: 'NotSerializableError',
        message: 'm',
        code: 'ERR_FANFOLD_NOT_SERIALIZABLE',
      },
    } as unknown as JobRecord;
    expect(() => throwIfEnded(job)).toThrow(TaskError);
  });
});
