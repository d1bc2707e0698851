import { describe, expect, it } from 'vitest';
import { decodeList } from '../../src/engine/codec.js';
import { ChunkPlanner, defaultChunksize, toSized } from '../../src/engine/plan.js';
import { Range, range } from '../../src/engine/range.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { MemoryBlobStore } from '../../src/local/memory-blobs.js';

describe('defaultChunksize()', () => {
  it.each([
    [0, 2, 0],
    [1, 2, 1],
    [8, 2, 1],
    [9, 2, 2],
    [10_000, 2, 1250],
    [1_000_000, 2, 125_000],
    [1_000_001, 2, 125_001],
    [100, 3, 9],
  ])('n=%i, workers=%i → %i, as CPython computes it', (n, w, expected) => {
    expect(defaultChunksize(n, w)).toBe(expected);
  });
});

describe('range()', () => {
  it('has Python semantics for length and items', () => {
    expect([...range(5)]).toEqual([0, 1, 2, 3, 4]);
    expect([...range(2, 11, 3)]).toEqual([2, 5, 8]);
    expect([...range(5, 0, -2)]).toEqual([5, 3, 1]);
    expect(range(5, 0).length).toBe(0);
  });

  it('rejects a zero step and non-integers', () => {
    expect(() => range(0, 5, 0)).toThrow(InvalidArgumentError);
    expect(() => range(1.5)).toThrow(InvalidArgumentError);
  });
});

describe('ChunkPlanner', () => {
  const blobs = new MemoryBlobStore();
  it('splits a range into descriptors without materialising it', async () => {
    const p = new ChunkPlanner(range(10, 1_000_000_010, 5), 100_000_000);
    expect(p.count).toBe(2);
    expect(await p.input(1, 1 << 20, blobs, 'k')).toEqual({
      kind: 'range',
      offset: 100_000_000,
      count: 100_000_000,
      start: 500_000_010,
      step: 5,
    });
  });

  it('covers every item once, with a short last chunk', async () => {
    const items = Array.from({ length: 10 }, (_, i) => ({ i }));
    const p = new ChunkPlanner(items, 3);
    const seen: unknown[] = [];
    for (let k = 0; k < p.count; k++) {
      const c = await p.input(k, 1 << 20, blobs, `k${k}`);
      if (c.kind !== 'items' || !('bytes' in c.data)) throw new Error('expected inline items');
      expect(c.offset).toBe(k * 3);
      seen.push(...Array.from(decodeList(c.data)));
    }
    expect(p.size(3)).toBe(1);
    expect(seen).toEqual(items);
  });

  it('encodes a chunk of numbers as Float64Array bytes and any other chunk with v8, each its own items', async () => {
    // Numbers, then a string late in chunk 1 (its copy to f64 is given up), then numbers again.
    const items: unknown[] = [1, 2.5, -0, 3, 4, 'five', 6, 7, Number.NaN];
    const p = new ChunkPlanner(items, 3);
    const chunks = [];
    for (let k = 0; k < p.count; k++) {
      const c = await p.input(k, 1 << 20, blobs, `m${k}`);
      if (c.kind !== 'items' || !('bytes' in c.data)) throw new Error('expected inline items');
      chunks.push(c.data);
    }
    expect(chunks.map((d) => d.enc)).toEqual(['f64', 'v8', 'f64']);
    expect(chunks.flatMap((d) => Array.from(decodeList(d)))).toEqual(items);
  });

  it('reads iterables and async iterables into a sized input', async () => {
    async function* gen() {
      yield 1;
      yield 2;
    }
    expect(await toSized(gen())).toEqual([1, 2]);
    expect(await toSized(new Set([3]))).toEqual([3]);
    expect(await toSized(range(3))).toBeInstanceOf(Range);
    await expect(toSized(42)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
