/**
 * A fan-out on SQS and DynamoDB (moto) stops sending once its job was cancelled: the leaf reads the
 * job item again between groups of sends (src/engine/fanout.ts), so a caller's `terminate()` during
 * a large submit does not leave the coordinator filling the queue with chunks no one wants.
 */
import { describe, expect } from 'vitest';
import { Coordinator } from '../../src/engine/coordinator.js';
import { groupChunks } from '../../src/engine/fanout.js';
import type { WorkMessage, WorkQueue } from '../../src/ports.js';
import fixture from '../fixtures/tasks.js';
import { useCloudTier } from '../support/cloud.js';
import { engineTest } from './harness.js';

const cloud = await useCloudTier();
const it = engineTest(cloud, fixture.tasks);

describe('the fan-out on AWS', () => {
  it("stops sending a job's chunks at its next read of the job once the job was cancelled", async ({
    engine,
  }) => {
    // No host: the chunks stay in the queue, where the test counts them as they are sent.
    const e = await engine({ hosts: 0 });
    const jobId = `cancel-${Date.now()}`;
    let sent = 0;
    const queue: WorkQueue = Object.create(e.backend.queue, {
      send: {
        value: async (messages: readonly WorkMessage[]) => {
          await e.backend.queue.send(messages);
          sent += messages.filter((m) => m.type === 'chunk').length;
          // The caller terminates while the first group is on its way.
          if (sent === messages.length)
            await e.backend.store.cancelJob(jobId, 'terminate() during the submit');
        },
      },
    });
    // Groups of 100 chunks; the job is read again before a group once 100 went out.
    const leafChunks = 800;
    const coordinator = new Coordinator({ ...e.backend, queue }, { leafChunks, jobCheckChunks: 100 });
    await coordinator.handle({
      v: 1,
      type: 'submit',
      jobId,
      kind: 'map',
      task: 'square',
      input: { kind: 'range', start: 0, stop: 3_000, step: 1 },
      workers: 2,
      chunksize: 1,
      deadline: Date.now() + cloud.scaled(60_000),
    });
    // The first group went out; the read before the second found the job CANCELLED.
    expect(sent).toBe(groupChunks(leafChunks));
    expect(await e.backend.store.getJob(jobId)).toMatchObject({ status: 'CANCELLED' });
  });
});
