/**
 * Each chunk's run, as the thread that ran it measures it (for its attempt record): which thread,
 * when it started, how long it ran, also when several chunks share one thread round trip.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { encodeList } from '../../src/engine/codec.js';
import type { InlineChunk } from '../../src/engine/run-chunk.js';
import { threadScript } from '../../src/local/runtime.js';
import { ThreadExecutor } from '../../src/threads/executor.js';
import { ThreadPool } from '../../src/threads/pool.js';
import fixture from '../fixtures/tasks.js';

// One thread: with two, the idle one would take the chunks the other has not started.
const pool = new ThreadPool({ size: 1, script: await threadScript(fixture) });
await pool.ready();
afterAll(() => pool.destroy());

/** A chunk that spins `ms` on its thread. */
function spin(index: number, ms: number): InlineChunk {
  return {
    jobId: 'job-timing',
    index,
    task: 'spin',
    mode: 'map',
    input: { kind: 'items', offset: index, count: 1, data: encodeList([ms]) },
  };
}

describe('chunk runs', () => {
  it('are timed one by one on their thread, when a group of chunks shares a round trip', async () => {
    const executor = new ThreadExecutor(pool, { batching: true });
    const before = Date.now();
    const outcomes = await executor.run([spin(0, 20), spin(1, 5), spin(2, 20)]);
    const runs = outcomes.map((o) => (o?.ok ? o.run : undefined));
    expect(runs.every((r) => r !== undefined)).toBe(true);
    const [a, b, c] = runs as NonNullable<(typeof runs)[number]>[];
    // One round trip: one thread, the chunks one after the other, each with its own time.
    expect(new Set([a!.thread, b!.thread, c!.thread]).size).toBe(1);
    expect(a!.thread).toBe(1);
    expect(a!.startedAt).toBeGreaterThanOrEqual(before);
    expect(b!.startedAt).toBeGreaterThanOrEqual(a!.startedAt + 19);
    expect(c!.startedAt).toBeGreaterThanOrEqual(b!.startedAt + 4);
    expect(a!.ms).toBeGreaterThanOrEqual(19);
    expect(b!.ms).toBeGreaterThanOrEqual(4);
  });
});
