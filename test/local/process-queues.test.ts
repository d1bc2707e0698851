/**
 * What a `Process` puts on a queue reaches the queue, however its thread ends. A put resolves once
 * the item is counted, possibly while its bytes still wait in the thread's feeder (the ring was
 * full, or another thread was writing to it). When more processes end together than the context
 * keeps idle threads (`cpuCount()`), the surplus threads are closed: each must write its feeder
 * out before it exits, as a CPython child joins its queue's feeder thread before it exits. So
 * must a closed Pool's threads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cpuCount, local, type Process } from '../../src/index.js';
import tasks from '../fixtures/process-tasks.js';

const mp = local({ tasks });

/** More processes at once than idle threads are kept, so some threads are closed as they end. */
const N = cpuCount() + 3;
/** Larger than the 64 KiB ring: such a put waits in its thread's feeder until a get streams it. */
const BIG = 100_000;
/** A get of an item that was put finds it at once; this bound only turns a lost item into a failure. */
const GET_MS = 10_000;

const started: Process[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.terminate()));
});

/** Starts `n` processes made by `make(i)`, and resolves once every one has ended (exit code 0). */
async function runAll(n: number, make: (i: number) => Process): Promise<void> {
  const ps = Array.from({ length: n }, (_, i) => make(i));
  started.push(...ps);
  await Promise.all(ps.map((p) => p.start()));
  await Promise.all(ps.map((p) => p.join()));
  expect(ps.map((p) => p.exitCode)).toEqual(ps.map(() => 0));
}

describe('Process', () => {
  describe('items put just before it returned', () => {
    it('are never lost when more processes end together than threads are kept: items larger than the ring', async () => {
      const q = mp.JoinableQueue<string>(N);
      await runAll(N, (i) => mp.Process('put', [q, `${i}:${'x'.repeat(BIG)}`]));
      const got: number[] = [];
      for (let i = 0; i < N; i++) {
        const item = await q.get({ timeoutMs: GET_MS });
        expect(item.length).toBe(`${i}:`.length + BIG);
        got.push(Number(item.split(':')[0]));
        await q.taskDone();
      }
      expect(got.sort((a, b) => a - b)).toEqual([...Array(N).keys()]);
      // Every slot of the bounded queue came back, and every put was marked done.
      expect(await q.qsize()).toBe(0);
      for (let i = 0; i < N; i++) await q.putNowait('again');
      expect(await q.full()).toBe(true);
      for (let i = 0; i < N; i++) {
        await q.get({ timeoutMs: GET_MS });
        await q.taskDone();
      }
      expect(await q.join(GET_MS)).toBe(true);
    }, 60_000);

    it('are never lost when more processes end together than threads are kept: small items put right after a Barrier, many rounds', async () => {
      // Each item is small (1 KB), but a round's items together overfill the ring, so the last
      // puts of some processes wait in their feeders, besides those that meet another writer.
      const rounds = 20;
      const perProcess = 20;
      const pad = '.'.repeat(1000);
      const barrier = mp.Barrier(N);
      const q = mp.JoinableQueue<string>(N * perProcess);
      for (let r = 0; r < rounds; r++) {
        const first = r * N * perProcess;
        await runAll(N, (i) => {
          const items = Array.from({ length: perProcess }, (_, k) => `${first + i * perProcess + k}:${pad}`);
          return mp.Process('putAfterBarrier', [barrier, q, items]);
        });
        const got: number[] = [];
        for (let i = 0; i < N * perProcess; i++) {
          got.push(Number((await q.get({ timeoutMs: GET_MS })).split(':')[0]));
          await q.taskDone();
        }
        expect(got.sort((a, b) => a - b)).toEqual(
          Array.from({ length: N * perProcess }, (_, i) => first + i),
        );
        expect(await q.join(GET_MS)).toBe(true);
      }
    }, 180_000);
  });
});

describe('Pool', () => {
  describe('close() and join()', () => {
    it('let its threads write out the items their tasks put before they exit', async () => {
      const q = mp.Queue<string>();
      const pool = mp.Pool({ processes: 2 });
      try {
        await pool.starmap(
          'put',
          Array.from({ length: N }, (_, i) => [q, `${i}:${'x'.repeat(BIG)}`] as [typeof q, string]),
          { chunksize: 1 },
        );
        pool.close();
        // The threads may exit only once their items are in the queue, and these wait for a get.
        const joined = pool.join();
        const got: number[] = [];
        for (let i = 0; i < N; i++) got.push(Number((await q.get({ timeoutMs: GET_MS })).split(':')[0]));
        await joined;
        expect(got.sort((a, b) => a - b)).toEqual([...Array(N).keys()]);
      } finally {
        await pool.terminate();
      }
    }, 60_000);
  });
});
