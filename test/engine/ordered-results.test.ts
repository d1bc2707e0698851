/** A map's results gathered in input order, chunk by chunk while the job runs, the rest at its end. */
import { describe, expect, it } from 'vitest';
import { blobKeys } from '../../src/engine/blob-keys.js';
import { encodeList, spill } from '../../src/engine/codec.js';
import { OrderedResults } from '../../src/engine/ordered-results.js';
import { TaskError } from '../../src/errors.js';
import { MemoryBlobStore } from '../../src/local/memory-blobs.js';
import { MemoryJobStore } from '../../src/local/memory-store.js';

async function job(chunks: number) {
  const store = new MemoryJobStore({ maxInlineBytes: 64 });
  const blobs = new MemoryBlobStore();
  await store.createJob({ id: 'j', kind: 'map', task: 't', deadline: 1e13, total: chunks });
  // Chunk i holds 20 items i*100 + k: its encoding is over the inline limit, so it lives in a blob.
  const items = (i: number) => Array.from({ length: 20 }, (_, k) => i * 100 + k);
  const record = async (i: number) => {
    const result = await spill(encodeList(items(i)), store.maxInlineBytes, blobs, blobKeys.output('j', i));
    await store.completeChunks('j', [{ index: i, result }]);
  };
  return { store, blobs, items, record };
}

describe('OrderedResults', () => {
  it('reads the chunks recorded so far up to the first missing one, and the rest at the end, in order', async () => {
    const { store, blobs, items, record } = await job(3);
    const results = new OrderedResults('j', 3, 60, store, blobs);
    await record(0);
    await record(2);
    await results.advance();
    // Chunk 0 was read then: its blob may go. Chunk 2 waits behind the missing chunk 1.
    await blobs.deletePrefix(blobKeys.output('j', 0));
    await record(1);
    expect(await results.finish()).toEqual([...items(0), ...items(1), ...items(2)]);
  });

  it('throws a TaskError for a DONE job that misses a chunk, or holds other than n results', async () => {
    const a = await job(2);
    await a.record(0);
    await expect(new OrderedResults('j', 2, 40, a.store, a.blobs).finish()).rejects.toThrow(
      /chunk 1 has no result/,
    );
    const b = await job(1);
    await b.record(0);
    await expect(new OrderedResults('j', 1, 21, b.store, b.blobs).finish()).rejects.toBeInstanceOf(TaskError);
    // A result of unknown size (lines) is whatever the chunks hold, in order.
    const c = await job(2);
    await c.record(0);
    await c.record(1);
    expect(await new OrderedResults('j', 2, undefined, c.store, c.blobs).finish()).toEqual([
      ...c.items(0),
      ...c.items(1),
    ]);
  });
});
