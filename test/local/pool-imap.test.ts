/**
 * Pool.imap / imapUnordered, after CPython's `_TestPool` (test_imap, test_imap_unordered,
 * test_imap_handle_iterable_exception, test_empty_iterable): lazy, bounded, cancellable on `break`.
 */
import { local, type Pool, type Progress, range } from 'fanfold';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../src/local/runtime.js';
import tasks, { gateKeeper } from '../fixtures/pool-tasks.js';
import { collect } from '../support/collect.js';

type Tasks = typeof tasks.tasks;

const PROCESSES = 2;
/** Chunks dispatched and not yet yielded, at most: `processes × 8` (src/local/runtime.ts). */
const WINDOW = PROCESSES * 8;

let runtime: LocalRuntime | undefined;
const mp = local({ tasks }, { onRuntime: (rt) => (runtime = rt) });
let pool: Pool<Tasks>;

// One pool for the file: no test here closes or terminates it.
beforeAll(() => {
  pool = mp.Pool({ processes: PROCESSES });
});
afterAll(async () => {
  await pool.terminate();
});

function* generate<X>(xs: readonly X[]): Generator<X> {
  yield* xs;
}
async function* generateAsync<X>(xs: readonly X[]): AsyncGenerator<X> {
  for (const x of xs) {
    await Promise.resolve();
    yield x;
  }
}

/** 0, 1, 2, … for ever, counting how many items were pulled. */
function endless(): { items: Generator<number>; pulled: () => number } {
  let pulled = 0;
  function* items(): Generator<number> {
    for (let i = 0; ; i++) {
      pulled++;
      yield i;
    }
  }
  return { items: items(), pulled: () => pulled };
}

describe('Pool', () => {
  describe('imap()', () => {
    it('yields results in input order', async () => {
      const expected = Array.from({ length: 50 }, (_, i) => i * i);
      expect(await collect(pool.imap('square', range(50)))).toEqual(expected);
      expect(await collect(pool.imap('square', range(50), { chunksize: 7 }))).toEqual(expected);
      expect(await collect(pool.imap('asyncDouble', range(5)))).toEqual([0, 2, 4, 6, 8]);
    });

    it.each([
      ['a range()', () => range(1, 6)],
      ['an array', () => [1, 2, 3, 4, 5]],
      ['a Set', () => new Set([1, 2, 3, 4, 5])],
      ['a generator', () => generate([1, 2, 3, 4, 5])],
      ['an async generator', () => generateAsync([1, 2, 3, 4, 5])],
    ])('accepts %s', async (_what, items) => {
      expect(await collect(pool.imap('square', items(), { chunksize: 2 }))).toEqual([1, 4, 9, 16, 25]);
    });

    it('yields nothing for an empty input', async () => {
      expect(await collect(pool.imap('square', []))).toEqual([]);
      expect(await collect(pool.imap('square', generate<number>([]), { chunksize: 3 }))).toEqual([]);
    });

    it.each([1, 3])(
      'pulls the input lazily: at most window × chunksize + chunksize items before the first result (chunksize %i)',
      async (chunksize) => {
        const source = endless();
        for await (const first of pool.imap('square', source.items, { chunksize })) {
          expect(first).toBe(0);
          break;
        }
        expect(source.pulled()).toBeGreaterThan(0);
        expect(source.pulled()).toBeLessThanOrEqual(WINDOW * chunksize + chunksize);
      },
    );

    it('cancels the job on break, and the pool keeps working', async () => {
      const source = endless();
      const seen: number[] = [];
      for await (const x of pool.imap('square', source.items)) {
        seen.push(x);
        if (seen.length === 30) break;
      }
      expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i * i));
      // The job's release runs once the loop has ended; then nothing is left.
      await runtime!.client.settled();
      expect(runtime!.client.active).toBe(0);
      expect(await pool.map('square', [1, 2, 3])).toEqual([1, 4, 9]);
    });

    it("rejects the loop with the input's own error when the iterable throws", async () => {
      const boom = new SyntaxError('bad input');
      function* failing(): Generator<number> {
        yield 1;
        yield 2;
        throw boom;
      }
      await expect(collect(pool.imap('square', failing()))).rejects.toBe(boom);
      expect(runtime!.client.active).toBe(0);
    });

    it('rejects the loop with a TaskError when a task throws', async () => {
      await expect(collect(pool.imap('failOn', range(10), { chunksize: 2 }))).rejects.toMatchObject({
        code: 'ERR_FANFOLD_TASK_FAILED',
        remoteName: 'RangeError',
        itemIndex: 7,
      });
    });

    it('rejects an item that cannot be serialised with NotSerializableError', async () => {
      const items: unknown[] = [1, 2, () => 3];
      await expect(collect(pool.imap('identity', items))).rejects.toMatchObject({
        code: 'ERR_FANFOLD_NOT_SERIALIZABLE',
      });
    });

    it('rejects an unknown task name and bad options at the first next()', async () => {
      await expect(collect(pool.imap('nope' as 'square', [1]))).rejects.toMatchObject({
        code: 'ERR_FANFOLD_UNKNOWN_TASK',
      });
      await expect(collect(pool.imap('square', [1], { chunksize: 0 }))).rejects.toMatchObject({
        code: 'ERR_FANFOLD_INVALID_ARGUMENT',
      });
    });

    it('sends one item per chunk by default and reports the total once the input ends', async () => {
      const seen: Progress[] = [];
      await collect(pool.imap('square', range(5), { onProgress: (p) => seen.push(p) }));
      expect(seen.at(-1)).toMatchObject({ done: 5, total: 5 });
    });
  });

  describe('imapUnordered()', () => {
    it('yields every result exactly once', async () => {
      const got = await collect(pool.imapUnordered('square', range(40), { chunksize: 3 }));
      expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i * i));
    });

    it('yields results as they complete, not in input order', async () => {
      const slow = gateKeeper('unordered-slow');
      const fast = gateKeeper('unordered-fast');
      try {
        const it = pool.imapUnordered('gate', ['unordered-slow', 'unordered-fast']);
        const first = it.next();
        await Promise.all([slow.started(), fast.started()]);
        fast.open();
        expect(await first).toEqual({ done: false, value: 'unordered-fast' });
        slow.open();
        expect(await it.next()).toEqual({ done: false, value: 'unordered-slow' });
        expect(await it.next()).toEqual({ done: true, value: undefined });
      } finally {
        slow.close();
        fast.close();
      }
    });

    it('yields a finished item while its slow neighbour in the same thread round trip still runs', async () => {
      // One thread: both one-item chunks share its round trip, the fast one first. Its result must
      // come back while the slow one waits at its gate, not when the whole group has run.
      const one = local({ tasks }).Pool({ processes: 1 });
      const fast = gateKeeper('group-fast');
      const slow = gateKeeper('group-slow');
      try {
        const it = one.imapUnordered('gate', ['group-fast', 'group-slow'], { chunksize: 1 });
        const first = it.next();
        await fast.started();
        fast.open();
        // The slow chunk starts only once the fast one has returned, on the same thread.
        await slow.started();
        const neighbourStillRuns = new Promise<'slow neighbour still running'>((resolve) => {
          // Generous: the fast result is on its way before the slow gate starts; only a result
          // held back for the group fails this.
          setTimeout(() => resolve('slow neighbour still running'), 20_000).unref();
        });
        expect(await Promise.race([first, neighbourStillRuns])).toEqual({ done: false, value: 'group-fast' });
        slow.open();
        expect(await it.next()).toEqual({ done: false, value: 'group-slow' });
        expect(await it.next()).toEqual({ done: true, value: undefined });
      } finally {
        fast.close();
        slow.close();
        await one.terminate();
      }
    }, 40_000);

    it('yields nothing for an empty input', async () => {
      expect(await collect(pool.imapUnordered('square', []))).toEqual([]);
    });

    it('cancels the job on break, and the pool keeps working', async () => {
      const source = endless();
      for await (const _ of pool.imapUnordered('square', source.items)) break;
      expect(source.pulled()).toBeLessThanOrEqual(WINDOW + 1);
      await runtime!.client.settled();
      expect(runtime!.client.active).toBe(0);
      expect(await pool.map('square', [4])).toEqual([16]);
    });

    it("rejects the loop with the input's own error when the iterable throws", async () => {
      const boom = new SyntaxError('bad input');
      async function* failing(): AsyncGenerator<number> {
        yield 1;
        throw boom;
      }
      await expect(collect(pool.imapUnordered('square', failing()))).rejects.toBe(boom);
    });
  });
});
