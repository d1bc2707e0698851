/**
 * A large inline input, chunk-addressable: the items of a job split into chunks, each chunk encoded
 * on its own (as the coordinator would encode it for a message), written back to back into ONE
 * blob, followed by an index of `count + 1` offsets (little-endian float64, exact to 2^53): chunk
 * `i` is the bytes `[index[i], index[i + 1])`. No one reads the whole blob again: a coordinator
 * that sends chunks `[from, to)` reads the index slice `[indexAt + 8·from, indexAt + 8·(to + 1))`
 * (one ranged read), and each chunk's message references its slice (`Data.offset`), which the
 * worker reads with one ranged get.
 *
 * ```
 * | chunk 0 | chunk 1 | … | chunk count-1 | off[0] = 0 | off[1] | … | off[count] = indexAt |
 * 0                                       indexAt
 * ```
 */
import { ProtocolError } from '../errors.js';
import type { BlobStore, Encoding } from '../ports.js';
import { allNumbers, encodeItems } from './codec.js';

/** Bytes per index entry. */
export const INDEX_ENTRY_BYTES = 8;

/** Where a job's segments lie and how to cut them into chunks. */
export interface SegmentsLayout {
  /** The blob holding the encodings and the index. */
  readonly blob: string;
  /** The encoding of every chunk. */
  readonly enc: Encoding;
  /** Items in the whole input. */
  readonly items: number;
  /** Items per chunk (the last one may hold fewer). */
  readonly chunksize: number;
  /** Byte offset of the index: the total length of the encodings. */
  readonly indexAt: number;
}

/** Number of chunks of a layout. */
export function segmentCount(l: Pick<SegmentsLayout, 'items' | 'chunksize'>): number {
  return l.chunksize === 0 ? 0 : Math.ceil(l.items / l.chunksize);
}

/**
 * Encodes `items` as segments of `chunksize` items each: the blob's bytes and its layout (under
 * `blob`). Numbers travel as f64 when every item is a number, else every chunk is v8.
 */
export function encodeSegments(
  items: readonly unknown[],
  chunksize: number,
  blob: string,
): { bytes: Uint8Array; layout: SegmentsLayout } {
  const numeric = items.length > 0 && allNumbers(items);
  const count = segmentCount({ items: items.length, chunksize });
  const parts: Uint8Array[] = [];
  const offsets = new Float64Array(count + 1);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const offset = i * chunksize;
    const part = encodeItems(items.slice(offset, offset + chunksize), offset, numeric).bytes;
    parts.push(part);
    at += part.byteLength;
    offsets[i + 1] = at;
  }
  const bytes = new Uint8Array(at + offsets.byteLength);
  let p = 0;
  for (const part of parts) {
    bytes.set(part, p);
    p += part.byteLength;
  }
  // Little-endian on every platform Node runs on; written through a DataView to say so.
  const view = new DataView(bytes.buffer, at);
  for (let i = 0; i <= count; i++) view.setFloat64(i * INDEX_ENTRY_BYTES, offsets[i] as number, true);
  return {
    bytes,
    layout: { blob, enc: numeric ? 'f64' : 'v8', items: items.length, chunksize, indexAt: at },
  };
}

/**
 * The byte slices of chunks `[from, to)`: one ranged read of the index. Throws `ProtocolError`
 * when the index is not what the layout says (offsets that go backwards, or past `indexAt`).
 */
export async function readSegments(
  blobs: BlobStore,
  l: SegmentsLayout,
  from: number,
  to: number,
): Promise<{ offset: number; size: number }[]> {
  const bytes = await blobs.get(l.blob, {
    start: l.indexAt + from * INDEX_ENTRY_BYTES,
    end: l.indexAt + (to + 1) * INDEX_ENTRY_BYTES,
  });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { offset: number; size: number }[] = [];
  let prev = view.getFloat64(0, true);
  for (let k = 1; k <= to - from; k++) {
    const next = view.getFloat64(k * INDEX_ENTRY_BYTES, true);
    if (
      !Number.isSafeInteger(prev) ||
      prev < 0 ||
      !Number.isSafeInteger(next) ||
      next <= prev ||
      next > l.indexAt
    )
      throw new ProtocolError(
        `Malformed segment index of ${l.blob}: chunk ${from + k - 1} spans [${prev}, ${next}) of ${l.indexAt} bytes`,
      );
    out.push({ offset: prev, size: next - prev });
    prev = next;
  }
  return out;
}
