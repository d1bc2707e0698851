/**
 * A chunk's input on its way to a thread: bytes the host read from the blob store are its own and
 * move to the thread (no copy); bytes that came inside the message are copied, since they may be
 * views of what a redelivery of the message reads.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { inlineChunk } from '../../src/engine/chunk-input.js';
import { decodeList, encodeList, spill } from '../../src/engine/codec.js';
import type { ChunkOutcome } from '../../src/engine/run-chunk.js';
import { memoryBackend } from '../../src/local/memory-backend.js';
import { threadScript } from '../../src/local/runtime.js';
import { ThreadExecutor } from '../../src/threads/executor.js';
import { ThreadPool } from '../../src/threads/pool.js';
import fixture from '../fixtures/tasks.js';

const pool = new ThreadPool({ size: 1, script: await threadScript(fixture) });
await pool.ready();
const backend = memoryBackend({ visibilityMs: 1000, maxReceiveCount: 3 });
afterAll(async () => {
  await pool.destroy();
  backend.close();
});

const items = Array.from({ length: 1000 }, (_, i) => i);

async function message(index: number, limit: number) {
  const data = await spill(encodeList(items), limit, backend.blobs, `jobs/t/input/${index}`);
  return {
    v: 1 as const,
    type: 'chunk' as const,
    jobId: 't',
    index,
    task: 'square',
    mode: 'map' as const,
    input: { kind: 'items' as const, offset: 0, count: items.length, data },
  };
}

const squares = (o: ChunkOutcome | undefined) =>
  o?.ok ? Array.from(decodeList(o.result)) : `not ok: ${JSON.stringify(o)}`;

describe('chunk inputs sent to a thread', () => {
  it('moves the bytes read from the blob store to the thread, and the blob stays whole for another read', async () => {
    const m = await message(0, 10);
    expect('blob' in m.input.data).toBe(true);
    const chunk = await inlineChunk(m, backend);
    const sent = chunk.input.kind === 'items' ? chunk.input.data.bytes : undefined;
    expect(sent?.byteLength).toBeGreaterThan(0);
    const [out] = await new ThreadExecutor(pool, { batching: true }).run([chunk]);
    expect(squares(out)).toEqual(items.map((x) => x * x));
    // Transferred: the host's copy is detached; the stored blob is not.
    expect(sent?.byteLength).toBe(0);
    const again = await inlineChunk(m, backend);
    expect(again.input.kind === 'items' && again.input.data.bytes.byteLength).toBeGreaterThan(0);
  });

  it('copies bytes that came inside the message', async () => {
    const m = await message(1, 1 << 20);
    expect('bytes' in m.input.data).toBe(true);
    const chunk = await inlineChunk(m, backend);
    const sent = chunk.input.kind === 'items' ? chunk.input.data.bytes : undefined;
    const length = sent?.byteLength;
    const [out] = await new ThreadExecutor(pool, { batching: true }).run([chunk]);
    expect(squares(out)).toEqual(items.map((x) => x * x));
    expect(sent?.byteLength).toBe(length);
  });
});
