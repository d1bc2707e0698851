/** Reattaching to a job by id after the caller that submitted it went away. */
import { afterEach, describe, expect, it } from 'vitest';
import { JobNotFoundError, JobReleasedError, TaskError } from '../../src/errors.js';
import fixture from '../fixtures/tasks.js';
import { type Engine, startEngine } from './harness.js';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

const submit = (e: Engine, jobId: string, kind: 'map' | 'mapReduce', task: string, reducer?: string) =>
  e.coordinator.handle({
    v: 1,
    type: 'submit',
    jobId,
    kind,
    task,
    input: { kind: 'range', start: 0, stop: 20, step: 1 },
    chunksize: 3,
    workers: 2,
    deadline: Date.now() + 10_000,
    ...(reducer ? { reducer } : {}),
  });

describe('JobClient.attach()', () => {
  it('returns the results of a map job whose caller is gone, in input order, and releases it', async () => {
    engine = startEngine({ tasks: fixture.tasks });
    await submit(engine, 'job-a', 'map', 'square');
    expect(await engine.client.attach('job-a')).toEqual(Array.from({ length: 20 }, (_, i) => i * i));
    expect(await engine.backend.store.getJob('job-a')).toMatchObject({ released: true, status: 'DONE' });
    expect(await engine.backend.store.readResults('job-a', [0, 1])).toEqual(new Map());
  });

  it('refuses a released job with JobReleasedError, and a new job under its id too', async () => {
    engine = startEngine({ tasks: fixture.tasks });
    await submit(engine, 'job-r', 'map', 'square');
    await engine.client.attach('job-r');
    await expect(engine.client.attach('job-r')).rejects.toBeInstanceOf(JobReleasedError);
    await expect(submit(engine, 'job-r', 'map', 'square')).rejects.toMatchObject({
      code: 'ERR_FANFOLD_JOB_RELEASED',
    });
    await expect(engine.client.map('map', 'square', [1, 2], { jobId: 'job-r' })).rejects.toBeInstanceOf(
      JobReleasedError,
    );
  });

  it('returns the folded value of a mapReduce job', async () => {
    engine = startEngine({ tasks: fixture.tasks });
    await submit(engine, 'job-b', 'mapReduce', 'square', 'sum');
    expect(await engine.client.attach('job-b')).toBe(2470);
  });

  it("rejects with the job's error, and with JobNotFoundError for an unknown id", async () => {
    engine = startEngine({ tasks: fixture.tasks });
    await submit(engine, 'job-c', 'map', 'failOn');
    await expect(engine.client.attach('job-c')).rejects.toBeInstanceOf(TaskError);
    await expect(engine.client.attach('nope')).rejects.toBeInstanceOf(JobNotFoundError);
  });
});

describe('Coordinator expire', () => {
  it('refuses to expire a job before its own deadline, and fails it as expired after', async () => {
    engine = startEngine({ tasks: fixture.tasks });
    engine.hosts[0]!.kill();
    const deadline = Date.now() + 150;
    await engine.coordinator.handle({
      v: 1,
      type: 'submit',
      jobId: 'job-e',
      kind: 'map',
      task: 'square',
      input: { kind: 'range', start: 0, stop: 4, step: 1 },
      workers: 2,
      deadline,
    });
    const early = await engine.coordinator.handle({ v: 1, type: 'expire', jobId: 'job-e' });
    expect(early.job?.status).toBe('RUNNING');
    while (Date.now() <= deadline) await new Promise((r) => setTimeout(r, deadline + 5 - Date.now()));
    const late = await engine.coordinator.handle({ v: 1, type: 'expire', jobId: 'job-e' });
    expect(late.job).toMatchObject({ status: 'FAILED', error: { reason: 'expired' } });
  });
});
