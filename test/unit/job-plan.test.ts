/**
 * The job's plan crosses a boundary twice: it is written by the invocation that created the job
 * and read back from the store by every other one (the fan-out tree's nodes, a retried submit). A
 * plan that cannot be trusted must stop the invocation with a ProtocolError (which, for a fanout,
 * ends the job through the failure path) rather than send wrong chunks.
 */
import { describe, expect, it } from 'vitest';
import {
  encodePlan,
  type JobPlan,
  MAX_PLAN_CHARS,
  parsePlan,
  planCount,
  planInputs,
} from '../../src/engine/job-plan.js';
import { encodeSegments } from '../../src/engine/segments.js';
import { ProtocolError } from '../../src/errors.js';
import { MemoryBlobStore } from '../../src/local/memory-blobs.js';

const plans: Record<string, JobPlan> = {
  'a range': { v: 1, input: { kind: 'range', start: -5, step: 3, items: 1_000_001, chunksize: 7 } },
  'lines of an S3 object': {
    v: 1,
    input: { kind: 'lines', source: { bucket: 'logs', key: 'a/b.txt' }, size: 10_000, chunkBytes: 64 },
  },
  'segments under the job prefix': {
    v: 1,
    input: { kind: 'segments', blob: 'jobs/j-1/input', enc: 'v8', items: 10, chunksize: 3, indexAt: 120 },
  },
  'inline chunks of a Process': { v: 1, input: { kind: 'inline', count: 1 }, handles: true, process: 'p-1' },
  'an open job': { v: 1, input: { kind: 'open' } },
};

describe('the job plan', () => {
  it.each(Object.entries(plans))('reads back %s as it was written', (_what, plan) => {
    expect(parsePlan(encodePlan(plan), 'j-1')).toEqual(plan);
  });

  it('counts the chunks each plan makes (an open job: unknown until sealed)', () => {
    expect(Object.values(plans).map((p) => planCount(p.input))).toEqual([
      Math.ceil(1_000_001 / 7),
      157,
      4,
      1,
      undefined,
    ]);
  });

  it.each<[string, unknown]>([
    ['no plan at all', undefined],
    ['text that is not JSON', '{"v":1,'],
    [
      'a plan longer than the limit',
      JSON.stringify({ v: 1, input: { kind: 'open' }, x: 'a'.repeat(MAX_PLAN_CHARS) }),
    ],
    ['another version', JSON.stringify({ v: 2, input: { kind: 'open' } })],
    ['an unknown kind', JSON.stringify({ v: 1, input: { kind: 'values' } })],
    [
      'a range of negative items',
      JSON.stringify({ v: 1, input: { kind: 'range', start: 0, step: 1, items: -1, chunksize: 1 } }),
    ],
    [
      'a range of chunks of 0 items',
      JSON.stringify({ v: 1, input: { kind: 'range', start: 0, step: 1, items: 9, chunksize: 0 } }),
    ],
    [
      'a fractional start',
      JSON.stringify({ v: 1, input: { kind: 'range', start: 0.5, step: 1, items: 9, chunksize: 1 } }),
    ],
    ['lines of no source', JSON.stringify({ v: 1, input: { kind: 'lines', size: 9, chunkBytes: 1 } })],
    [
      "segments outside the job's prefix",
      JSON.stringify({
        v: 1,
        input: { kind: 'segments', blob: 'jobs/other/input', enc: 'v8', items: 1, chunksize: 1, indexAt: 0 },
      }),
    ],
    [
      'segments of an unknown encoding',
      JSON.stringify({
        v: 1,
        input: { kind: 'segments', blob: 'jobs/j-1/input', enc: 'json', items: 1, chunksize: 1, indexAt: 0 },
      }),
    ],
    ['a malformed Process name', JSON.stringify({ v: 1, input: { kind: 'inline', count: 1 }, process: 7 })],
  ])('refuses %s with ProtocolError', (_what, text) => {
    expect(() => parsePlan(text as string, 'j-1')).toThrow(ProtocolError);
  });

  it('cuts chunk inputs of any part of a plan of 1e6 chunks without the rest', async () => {
    const range = plans['a range']!.input as Extract<JobPlan['input'], { kind: 'range' }>;
    const last = planCount(range)! - 1;
    const [first, end] = [
      ...(await planInputs(range, 0, 1, new MemoryBlobStore())),
      ...(await planInputs(range, last, last + 1, new MemoryBlobStore())),
    ];
    expect(first).toEqual({ kind: 'range', offset: 0, count: 7, start: -5, step: 3 });
    // 1,000,001 = 142,857 × 7 + 2: the last chunk holds the last 2 items.
    expect(end).toEqual({ kind: 'range', offset: last * 7, count: 2, start: -5 + last * 7 * 3, step: 3 });
  });

  it('cuts segment inputs as slices of the one blob, read from its index alone', async () => {
    const blobs = new MemoryBlobStore();
    const items = Array.from({ length: 10 }, (_, i) => ({ i }));
    const { bytes, layout } = encodeSegments(items, 3, 'jobs/j-1/input');
    await blobs.put(layout.blob, bytes);
    const inputs = await planInputs({ kind: 'segments', ...layout }, 2, 4, blobs);
    expect(inputs.map((c) => ({ offset: c.offset, count: c.count }))).toEqual([
      { offset: 6, count: 3 },
      { offset: 9, count: 1 },
    ]);
    for (const c of inputs)
      expect(c).toMatchObject({ kind: 'items', data: { blob: 'jobs/j-1/input', enc: 'v8' } });
  });
});
