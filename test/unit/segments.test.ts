import { describe, expect, it } from 'vitest';
import { decodeList, unspill } from '../../src/engine/codec.js';
import { encodeSegments, INDEX_ENTRY_BYTES, readSegments, segmentCount } from '../../src/engine/segments.js';
import { ProtocolError } from '../../src/errors.js';
import { MemoryBlobStore } from '../../src/local/memory-blobs.js';

/** The items of chunks [from, to) as a worker reads them: index slice, then one ranged read each. */
async function chunks(
  blobs: MemoryBlobStore,
  layout: ReturnType<typeof encodeSegments>['layout'],
  from: number,
  to: number,
) {
  const slices = await readSegments(blobs, layout, from, to);
  return Promise.all(
    slices.map(async ({ offset, size }) =>
      Array.from(decodeList(await unspill({ enc: layout.enc, blob: layout.blob, size, offset }, blobs))),
    ),
  );
}

describe('segments (a large input, chunk-addressable)', () => {
  it('cuts numbers into f64 chunks, each read back alone, the last one shorter', async () => {
    const items = Array.from({ length: 23 }, (_, i) => i * 1.5);
    const { bytes, layout } = encodeSegments(items, 5, 'jobs/j/input');
    expect(layout).toEqual({ blob: 'jobs/j/input', enc: 'f64', items: 23, chunksize: 5, indexAt: 23 * 8 });
    expect(bytes.byteLength).toBe(23 * 8 + (segmentCount(layout) + 1) * INDEX_ENTRY_BYTES);
    const blobs = new MemoryBlobStore();
    await blobs.put(layout.blob, bytes);
    expect(await chunks(blobs, layout, 0, 5)).toEqual([0, 5, 10, 15, 20].map((s) => items.slice(s, s + 5)));
    expect(await chunks(blobs, layout, 3, 4)).toEqual([items.slice(15, 20)]);
  });

  it('cuts anything else into v8 chunks (structured clone types survive)', async () => {
    const items: unknown[] = [new Map([[1, 'a']]), 2n, new Date(0), 'x', [1, 2], { y: undefined }, null];
    const { bytes, layout } = encodeSegments(items, 3, 'jobs/j/input');
    expect(layout.enc).toBe('v8');
    const blobs = new MemoryBlobStore();
    await blobs.put(layout.blob, bytes);
    expect((await chunks(blobs, layout, 0, 3)).flat()).toEqual(items);
  });

  it('makes no chunk of an empty input', () => {
    const { layout } = encodeSegments([], 4, 'jobs/j/input');
    expect(segmentCount(layout)).toBe(0);
  });

  it('refuses an index whose offsets go backwards or past the encodings', async () => {
    const { bytes, layout } = encodeSegments([1, 2, 3, 4], 1, 'jobs/j/input');
    const view = new DataView(bytes.buffer, bytes.byteOffset + layout.indexAt);
    const blobs = new MemoryBlobStore();
    view.setFloat64(2 * INDEX_ENTRY_BYTES, 4, true);
    await blobs.put(layout.blob, bytes);
    await expect(readSegments(blobs, layout, 0, 4)).rejects.toBeInstanceOf(ProtocolError);
    view.setFloat64(2 * INDEX_ENTRY_BYTES, 16, true);
    view.setFloat64(4 * INDEX_ENTRY_BYTES, layout.indexAt + 8, true);
    await blobs.put(layout.blob, bytes);
    await expect(readSegments(blobs, layout, 3, 4)).rejects.toBeInstanceOf(ProtocolError);
    await expect(readSegments(blobs, layout, 0, 3)).resolves.toHaveLength(3);
  });
});
