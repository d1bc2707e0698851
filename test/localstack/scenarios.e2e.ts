/**
 * The LocalStack tier's scenarios: the `Fanfold` stack of infra/app.ts (the word-frequency tasks),
 * deployed to LocalStack by `cdklocal deploy`, driven as an application drives it: `aws({ tasks,
 * stack: 'Fanfold' })` with the SDK's endpoints taken from the environment (`AWS_ENDPOINT_URL`,
 * set by scripts/test-localstack.mjs). Run only through `npm run test:localstack`.
 *
 * The functions run in LocalStack's Lambda containers, which do not see this machine's files: the
 * tasks count the words of files every function container has, its own bundle in /var/task.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import tasks, { type Counts } from '../../examples/wordfreq.tasks.js';
import { aws } from '../../src/aws/context.js';
import { TaskError } from '../../src/errors.js';

/** Files inside every Lambda container of the stack: the bundle the function runs and its map. */
const FILES = ['/var/task/index.mjs', '/var/task/index.mjs.map'];
const MISSING = '/var/task/fanfold-e2e-no-such-file.txt';

/** The fold the stack's reducer does, done here: what mapReduce must give. */
function merged(all: readonly Counts[]): Counts {
  const out: Counts = {};
  for (const counts of all) for (const [w, n] of Object.entries(counts)) out[w] = (out[w] ?? 0) + n;
  return out;
}

beforeAll(() => {
  if (process.env.FANFOLD_LOCALSTACK !== '1' || !process.env.AWS_ENDPOINT_URL)
    throw new Error(
      'These scenarios run against a Fanfold stack deployed to LocalStack: use `npm run test:localstack`',
    );
});

describe('the Fanfold stack on LocalStack', () => {
  const mp = aws({ tasks, stack: 'Fanfold' });

  it('map: one result per item, in order, computed in the worker functions', async () => {
    await using pool = mp.Pool({ jobTimeoutMs: 150_000 });
    const results = await pool.map('countWords', [...FILES, FILES[0]!], { chunksize: 1 });
    expect(results).toHaveLength(3);
    for (const counts of results) expect(Object.keys(counts).length).toBeGreaterThan(100);
    // The bundle holds its own tasks' source.
    expect(results[0]!.countwords).toBeGreaterThan(0);
    expect(results[2]).toEqual(results[0]);
  });

  it('mapReduce: the reducer folds in the workers, and agrees with folding map results here', async () => {
    await using pool = mp.Pool({ jobTimeoutMs: 150_000 });
    const items = [...FILES, ...FILES];
    const each = await pool.map('countWords', items, { chunksize: 1 });
    const folded = await pool.mapReduce('countWords', items, 'mergeCounts', { chunksize: 1 });
    expect(folded).toEqual(merged(each));
  });

  it("task error: a task's exception rejects the call with a TaskError carrying the remote error", async () => {
    await using pool = mp.Pool({ jobTimeoutMs: 150_000 });
    const err = await pool.map('countWords', [FILES[0]!, MISSING], { chunksize: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).remoteCode).toBe('ENOENT');
    expect((err as TaskError).message).toContain(MISSING);
    // The pool is still usable after a failed job.
    expect(Object.keys(await pool.apply('countWords', [FILES[0]!])).length).toBeGreaterThan(100);
  });

  it('imap: results stream back in input order, equal to map', async () => {
    await using pool = mp.Pool({ jobTimeoutMs: 150_000 });
    const items = [FILES[1]!, FILES[0]!, FILES[1]!];
    const streamed: Counts[] = [];
    for await (const counts of pool.imap('countWords', items, { chunksize: 1 })) streamed.push(counts);
    expect(streamed).toEqual(await pool.map('countWords', items, { chunksize: 1 }));
  });
});
