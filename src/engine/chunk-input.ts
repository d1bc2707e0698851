/**
 * A chunk message's input made inline for the thread that runs it: items spilled to the blob
 * store are fetched, and a byte range of `lines()` is read into its lines (the range owns every
 * line that starts in it; `lines.ts`). Ranges of numbers travel as they are.
 */
import { ProtocolError } from '../errors.js';
import type { Backend, ChunkInput, WorkMessage } from '../ports.js';
import { encodeList, unspill } from './codec.js';
import { readLines, sourceName } from './lines.js';
import type { InlineChunk } from './run-chunk.js';

/** A work message that carries a chunk. */
export type ChunkMessage = Extract<WorkMessage, { type: 'chunk' }>;

/**
 * The buffers of chunk inputs read from the blob store here: a read's bytes are this host's own
 * (every store hands out a fresh copy), used for one run and never again (a chunk that must run
 * again is delivered again and read again), so they may be moved to the thread instead of copied.
 * Bytes that came inside the message are left out: they may be a view of what a redelivery reads.
 */
const owned = new WeakSet<ArrayBuffer>();

/**
 * The input buffers of `chunks` that may be transferred to the thread that runs them (each once):
 * those read from the blob store by {@link inlineChunk}, when the bytes span their whole buffer.
 */
export function transferableInputs(chunks: readonly InlineChunk[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const c of chunks) {
    if (c.input.kind !== 'items') continue;
    const { bytes } = c.input.data;
    const buffer = bytes.buffer;
    if (
      buffer instanceof ArrayBuffer &&
      owned.has(buffer) &&
      bytes.byteOffset === 0 &&
      bytes.byteLength === buffer.byteLength
    )
      out.add(buffer);
  }
  return [...out];
}

/** The chunk with its input inline; throws `ProtocolError` when a blob is gone or nothing can read the source. */
export async function inlineChunk(m: ChunkMessage, backend: Backend): Promise<InlineChunk> {
  const input = m.input;
  if (input.kind === 'range') return { ...m, input };
  if (input.kind === 'bytes') return inlineLines(m, input, backend);
  const data = await unspill(input.data, backend.blobs);
  if (!('bytes' in input.data) && data.bytes.buffer instanceof ArrayBuffer) owned.add(data.bytes.buffer);
  return { ...m, input: { kind: 'items', offset: input.offset, count: input.count, data } };
}

/** Reads the lines a byte range owns (`readLines`) and passes them to the thread as items. */
async function inlineLines(
  m: ChunkMessage,
  input: Extract<ChunkInput, { kind: 'bytes' }>,
  { objects }: Backend,
): Promise<InlineChunk> {
  if (!objects)
    throw new ProtocolError(
      `Chunk ${m.index} of job ${m.jobId} reads ${sourceName(input.source)}, but this backend has no object reader`,
    );
  const items = await readLines(
    (start, end) => objects.read(input.source, start, end),
    input.size,
    input.start,
    input.end,
  );
  return {
    ...m,
    input: {
      kind: 'items',
      offset: 0,
      count: items.length,
      data: encodeList(items),
      range: { source: sourceName(input.source), start: input.start, end: input.end },
    },
  };
}
