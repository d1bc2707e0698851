/**
 * The repeated-id guard on items in memory (`fingerprint.ts`): a submit under a caller's id is
 * digested and a second input under it refused; a map under an id the client drew itself encodes
 * its items only for its chunks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeItems } from '../../src/engine/codec.js';
import type { CoordinatorRequest } from '../../src/engine/coordinator.js';
import { JobConflictError } from '../../src/errors.js';
import fixture from '../fixtures/tasks.js';
import { type Engine, startEngine } from './harness.js';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

/** Items whose field is a getter: every encoding of an item reads it, and the count says how often. */
function counted(n: number): { items: object[]; reads: () => number } {
  let reads = 0;
  const items = Array.from({ length: n }, (_, i) => ({
    get x() {
      reads++;
      return i;
    },
  }));
  return { items, reads: () => reads };
}

const submitValues = (jobId: string, items: readonly unknown[]): CoordinatorRequest => ({
  v: 1,
  type: 'submit',
  jobId,
  kind: 'map',
  task: 'square',
  input: { kind: 'values', items },
  chunksize: 2,
  workers: 2,
  deadline: Date.now() + 10_000,
});

describe('the fingerprint of items in memory', () => {
  it('encodes the items of a map with no caller id once (for its chunks), and twice under a caller id', async () => {
    engine = startEngine({ tasks: fixture.tasks });
    const probe = counted(12);
    encodeItems(probe.items, 0);
    const perEncoding = probe.reads();
    expect(perEncoding).toBeGreaterThanOrEqual(12);

    const drawn = counted(12);
    const out = await engine.client.map('map', 'identity', drawn.items, { chunksize: 4 });
    expect(out).toEqual(Array.from({ length: 12 }, (_, i) => ({ x: i })));
    expect(drawn.reads()).toBe(perEncoding);

    // A caller's id may come again with other items: the guard digests them, one encoding more.
    const given = counted(12);
    await engine.client.map('map', 'identity', given.items, { chunksize: 4, jobId: 'given-1' });
    expect(given.reads()).toBe(2 * perEncoding);
  });

  it('refuses other items under a job id given in process, and takes the same request again as a retry', async () => {
    engine = startEngine({ tasks: fixture.tasks });
    expect(await engine.coordinator.handle(submitValues('again-v', [1, 2, 3, 4]))).toMatchObject({
      created: true,
      total: 2,
    });
    await expect(engine.coordinator.handle(submitValues('again-v', [5, 6, 7, 8]))).rejects.toBeInstanceOf(
      JobConflictError,
    );
    // The same items in another array are the same request.
    expect(await engine.coordinator.handle(submitValues('again-v', [1, 2, 3, 4]))).toMatchObject({
      created: false,
      total: 2,
    });
    expect(await engine.client.attach('again-v')).toEqual([1, 4, 9, 16]);
  });

  it('refuses a second map under a caller id while the first runs, which ends with its own results', async () => {
    engine = startEngine({ tasks: fixture.tasks });
    const first = engine.client.map('map', 'square', [1, 2, 3], { jobId: 'twice-v', chunksize: 1 });
    await expect(
      engine.client.map('map', 'square', [10, 20, 30], { jobId: 'twice-v', chunksize: 1 }),
    ).rejects.toBeInstanceOf(JobConflictError);
    expect(await first).toEqual([1, 4, 9]);
  });
});
