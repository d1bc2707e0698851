/**
 * The Pool scenarios (map, imap, mapReduce, task errors, payloads over the limits, attach,
 * terminate), written once and run on every context: `local.test.ts` runs them on worker threads,
 * `aws.test.ts` on the `aws` context through the runner (the e2e stack's coordinator and worker
 * bundles, moto's SQS, DynamoDB and S3). Only what the two contexts share
 * is used: the tasks that synchronise through a BroadcastChannel (`gate`, `busy`) reach no Lambda
 * container, so the scenarios hold jobs open with `spin` instead.
 */
import {
  type AsyncResult,
  type Event,
  JobCancelledError,
  lines,
  NotSerializableError,
  type Pool,
  range,
  TaskError,
} from 'fanfold';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type tasks from '../fixtures/pool-tasks.js';
import { collect } from '../support/collect.js';

export type Tasks = typeof tasks.tasks;

/** A context under test, with what the scenarios cannot do through the Pool API alone. */
export interface ScenarioEnv {
  /** A new pool of the context (the env's options: processes, timeouts). */
  pool(): Pool<Tasks>;
  /**
   * A pool whose caller can be made to go away: after `leave()`, its reads of the job store never
   * answer (a process that died, a laptop closed), while the job goes on; and `attacher`, another
   * caller that can see its jobs. `dispose()` ends the hung reads (they reject) and terminates both.
   */
  goneCaller(): { pool: Pool<Tasks>; attacher: Pool<Tasks>; leave(): void; dispose(): Promise<void> };
  /**
   * Blob writes and reads the caller's side has made so far (through the pools of {@link pool}),
   * to check that big payloads went through the blob store. @default not checked
   */
  blobTraffic?(): { readonly puts: number; readonly gets: number };
  /**
   * Stores `text` where this context's `lines()` can read it (a file on the local context, an S3
   * object on AWS) and returns the source. @default no `lines()` scenarios on this context
   */
  linesSource?(name: string, text: string): Promise<Parameters<typeof lines>[0]>;
  /** A new `Event` of the context, for tasks that wait until the test lets them go. */
  Event(): Event;
  /** Stops the context's machinery (the runner, the emulators). */
  stop(): Promise<void>;
}

/** About 200 KB of lines of every length, with `\r\n` and `\n`, multibyte characters and no final newline. */
function linesText(): string {
  const out: string[] = [];
  for (let i = 0; i < 2_000; i++)
    out.push(`${i}:${'é€x'.repeat((i * 7919) % 60)}${i % 97 === 0 ? '' : 'end'}`);
  return `${out.map((l, i) => (i % 5 === 0 ? `${l}\r\n` : `${l}\n`)).join('')}last line, no newline`;
}

/** Above DynamoDB's 400 KB item limit and the job store's 350 KiB inline limit. */
const BIG_RESULT_CHARS = 600_000;
/** Several MB of input: over Lambda's 6 MB invoke payload once encoded, and SQS's 256 KB messages. */
const BIG_INPUT_ITEMS = 70;
const BIG_ITEM_CHARS = 100_000;

function* generate<X>(xs: readonly X[]): Generator<X> {
  yield* xs;
}

/** Rejects when `p` has not settled within `ms` (so a hang fails the test with a message). */
async function within<X>(p: Promise<X>, ms: number, what: string): Promise<X> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Registers the scenarios under `describe(name)`. `makeEnv` runs once (in beforeAll, with
 * `setupTimeoutMs`); the scenarios share one pool except those that terminate or leave theirs.
 */
export function describePoolScenarios(
  name: string,
  makeEnv: () => Promise<ScenarioEnv>,
  setupTimeoutMs = 30_000,
): void {
  describe(name, () => {
    let env: ScenarioEnv | undefined;
    let pool: Pool<Tasks>;

    beforeAll(async () => {
      env = await makeEnv();
      pool = env.pool();
    }, setupTimeoutMs);
    afterAll(async () => {
      await pool?.terminate();
      await env?.stop();
    }, 30_000);

    describe('map()', () => {
      it.each([
        ['a range()', () => range(1, 6)],
        ['an array', () => [1, 2, 3, 4, 5]],
        ['a generator', () => generate([1, 2, 3, 4, 5])],
      ])('maps %s, results in input order', async (_what, items) => {
        expect(await pool.map('square', items(), { chunksize: 2 })).toEqual([1, 4, 9, 16, 25]);
      });

      it('keeps input order over many chunks, the last one short', async () => {
        const expected = Array.from({ length: 100 }, (_, i) => String(i));
        expect(await pool.map('str', range(100), { chunksize: 7 })).toEqual(expected);
        expect(await pool.map('asyncDouble', [...range(20)])).toEqual(
          Array.from({ length: 20 }, (_, i) => i * 2),
        );
      });
    });

    describe('imap() / imapUnordered()', () => {
      it('imap yields every result in input order', async () => {
        const expected = Array.from({ length: 30 }, (_, i) => i * i);
        expect(await collect(pool.imap('square', range(30), { chunksize: 4 }))).toEqual(expected);
        expect(await collect(pool.imap('square', generate([3, 1, 2])))).toEqual([9, 1, 4]);
      });

      it('imapUnordered yields every result exactly once', async () => {
        const got = await collect(pool.imapUnordered('square', range(30), { chunksize: 4 }));
        expect(got).toHaveLength(30);
        expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i * i));
      });
    });

    describe('applyAsync()', () => {
      it('is pending until the task ends: get(timeout) rejects, wait(timeout) does not, ready() says so', async () => {
        const res: AsyncResult<number> = pool.applyAsync('spin', [1_500]);
        expect(res.ready()).toBe(false);
        await expect(res.get(10)).rejects.toMatchObject({ code: 'ERR_FANFOLD_TIMEOUT' });
        await expect(res.wait(10)).resolves.toBeUndefined();
        expect(res.ready()).toBe(false);
        expect(await res.get()).toBe(1_500);
        expect(res.ready()).toBe(true);
        expect(res.successful()).toBe(true);
      });

      it('calls errorCallback with the TaskError, and get() rejects with it', async () => {
        const seen: unknown[] = [];
        const res = pool.applyAsync('failOn', [7], {
          callback: () => seen.push('callback'),
          errorCallback: (e) => seen.push(e),
        });
        await res.wait();
        expect(res.successful()).toBe(false);
        expect(seen).toHaveLength(1);
        expect(seen[0]).toBeInstanceOf(TaskError);
        await expect(res.get()).rejects.toBe(seen[0]);
      });
    });

    describe('mapReduce()', () => {
      it('folds the results with the reducer, with and without an initial value', async () => {
        expect(await pool.mapReduce('square', range(10), 'sum', { chunksize: 3 })).toBe(285);
        expect(await pool.mapReduce('str', [1, 2, 3], 'concat', { chunksize: 1, initial: '>' })).toBe('>123');
      });
    });

    describe('task errors', () => {
      it('reject with a TaskError carrying the remote name, stack and the item and chunk index', async () => {
        const error = await pool.map('failOn', range(10), { chunksize: 3 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TaskError);
        expect(error).toMatchObject({
          code: 'ERR_FANFOLD_TASK_FAILED',
          remoteName: 'RangeError',
          itemIndex: 7,
          chunkIndex: 2,
        });
        const { remoteStack } = error as TaskError;
        expect(remoteStack).toContain('seven is not allowed');
        expect(remoteStack).toContain('failOn');
        expect(remoteStack).toContain('fixtures/tasks.ts');
        // The pool keeps working.
        expect(await pool.map('square', [3])).toEqual([9]);
      });

      it('refuse a class instance a task returns with NotSerializableError naming its class and item', async () => {
        // Structured clone would hand back a plain { x, y } without its methods, silently.
        const error = await pool.map('pointOn1', [0, 1, 2], { chunksize: 3 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(NotSerializableError);
        expect(error).toMatchObject({
          code: 'ERR_FANFOLD_NOT_SERIALIZABLE',
          className: 'Point',
          position: 1,
        });
        // Plain results still travel, numbers and arrays of them.
        expect(await pool.map('pointOn1', [0, 2])).toEqual([0, 2]);
        expect(await pool.map('pointOrPair', [false])).toEqual([[1, 2]]);
      });
    });

    describe('payloads over the limits', () => {
      it('round-trips an input of several MB exactly (spilled to the blob store)', async () => {
        const big = Array.from({ length: BIG_INPUT_ITEMS }, (_, i) =>
          `${i}:`.padEnd(BIG_ITEM_CHARS, String.fromCharCode(97 + (i % 26))),
        );
        const before = env!.blobTraffic?.();
        const out = await pool.map('identity', big);
        if (before) expect(env!.blobTraffic!().puts).toBeGreaterThan(before.puts);
        expect(out).toHaveLength(big.length);
        // Compared item by item: a diff of 7 MB strings is not worth printing.
        expect(out.every((x, i) => x === big[i])).toBe(true);
      });

      it('returns a result over 400 KB exactly', async () => {
        const before = env!.blobTraffic?.();
        // A one-item starmap runs as a job on both contexts (a local apply goes straight to a
        // thread and never through the blob store), so the big result crosses the store's limit.
        const [out = ''] = await pool.starmap('repeat', [['ab', BIG_RESULT_CHARS / 2]]);
        if (before) expect(env!.blobTraffic!().gets).toBeGreaterThan(before.gets);
        expect(out.length).toBe(BIG_RESULT_CHARS);
        expect(out === 'ab'.repeat(BIG_RESULT_CHARS / 2)).toBe(true);
      });
    });

    describe('lines() inputs', () => {
      it('maps every line of an object split by byte ranges, in order, each exactly once', async () => {
        const make = env!.linesSource;
        if (!make) return; // this context has nowhere to put an object
        const text = linesText();
        const source = await make('lines.txt', text);
        // Small ranges: many lines straddle a boundary, some ranges start inside a multibyte char.
        const out = await pool.map('identity', lines(source, { chunkBytes: 4_096 }));
        const expected = text.split(/\r?\n/);
        expect(out).toHaveLength(expected.length);
        expect(out.every((x, i) => x === expected[i])).toBe(true);
      });
    });

    describe('attach()', () => {
      it('reattaches by the job id from onProgress after the caller went away', async () => {
        const gone = env!.goneCaller();
        try {
          let jobId: string | undefined;
          let told!: () => void;
          const submitted = new Promise<void>((r) => (told = r));
          const abandoned = gone.pool
            .map('spin', [400, 400, 400], {
              chunksize: 1,
              onProgress: (p) => {
                // Gone at once, in the callback: its very next read of the store never answers.
                if (jobId === undefined) {
                  jobId = p.jobId;
                  gone.leave();
                }
                told();
              },
            })
            .catch((e: unknown) => e);
          await within(submitted, 20_000, 'the first progress report');
          expect(await within(gone.attacher.attach(jobId!), 20_000, 'attach()')).toEqual([400, 400, 400]);
          // Released by the attaching caller, in the background once attach() returned: after the
          // release lands, attaching again is refused (an attach before it reads the job again).
          const refused = (async () => {
            for (;;) {
              const e = await gone.attacher.attach(jobId!).then(
                () => undefined,
                (x: unknown) => x,
              );
              if (e) return e;
            }
          })();
          expect(await within(refused, 20_000, 'the release')).toMatchObject({
            code: 'ERR_FANFOLD_JOB_RELEASED',
          });
          await gone.dispose();
          expect(await abandoned).toBeInstanceOf(Error);
        } finally {
          await gone.dispose();
        }
      });
    });

    describe('terminate()', () => {
      it('rejects a pending call with JobCancelledError without waiting for its task', async () => {
        const own = env!.pool();
        // The task runs until the test sets `go`, which it does only after the call has rejected:
        // a terminate() or a rejection that waited for the task would never come.
        const started = env!.Event();
        const go = env!.Event();
        const res = own.starmapAsync('holdUntil', [[started, go]]);
        try {
          expect(await within(started.wait(), 20_000, 'the task to start')).toBe(true);
          await within(own.terminate(), 20_000, 'terminate()');
          const error = await within(
            res.get().catch((e: unknown) => e),
            20_000,
            'the pending call to reject',
          );
          expect(error).toBeInstanceOf(JobCancelledError);
          expect(error).toMatchObject({ code: 'ERR_FANFOLD_JOB_CANCELLED' });
          expect(await go.isSet()).toBe(false);
          expect(own.state).toBe('TERMINATE');
          await expect(own.map('square', [1])).rejects.toMatchObject({
            code: 'ERR_FANFOLD_POOL_NOT_RUNNING',
          });
        } finally {
          await go.set();
          await own.terminate();
        }
      });
    });
  });
}
