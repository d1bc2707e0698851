/**
 * What an idle job costs its caller: a job on moto that no worker ever runs, waited on for 60 s by
 * the job client's own wait loop (`JobWatch`, with the aws context's default polling), behind the
 * counting proxy. Prints the reads per 10 s and in all, as Markdown on stdout.
 *
 *   node --import tsx bench/scale/idle.ts [--seconds 60]
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoClient, createS3Client, createSqsClient } from '../../src/aws/clients.js';
import { DynamoJobStore } from '../../src/aws/dynamo-store.js';
import { setupAws } from '../../src/aws/setup.js';
import { JobWatch } from '../../src/engine/job-watch.js';
import { startEmulators } from '../../test/runner/index.js';
import { CountingProxy } from './proxy.js';

const arg = process.argv.indexOf('--seconds');
const seconds = arg > 0 ? Number(process.argv[arg + 1]) : 60;
const emulators = await startEmulators();
const proxy = await CountingProxy.start({
  emulator: emulators.endpoint,
  parties: ['caller'],
  clientOptions: emulators.clientOptions,
});
const setup = {
  sqs: createSqsClient(emulators.clientOptions),
  dynamo: createDynamoClient(emulators.clientOptions),
  s3: createS3Client(emulators.clientOptions),
};
const dynamo = new DynamoDBClient({ ...emulators.clientOptions, endpoint: proxy.endpoint('caller') });
try {
  const name = `idle-${randomUUID().slice(0, 8)}`;
  await setupAws({
    clients: setup,
    tableName: name,
    bucket: name,
    queue: { name, visibilityTimeoutSeconds: 30, maxReceiveCount: 3 },
  });
  const store = new DynamoJobStore({ client: dynamo, tableName: name });
  const id = randomUUID();
  await store.createJob({ id, kind: 'map', task: 'square', total: 10, deadline: Date.now() + 3_600_000 });
  proxy.reset();
  const watch = new JobWatch(id, { store, expire: async () => {} });
  const start = performance.now();
  const marks: number[] = [];
  let next = 10_000;
  while (performance.now() - start < seconds * 1000) {
    await watch.next();
    if (performance.now() - start >= next) {
      marks.push(proxy.tallies().find((t) => t.operation === 'GetItem')?.requests ?? 0);
      next += 10_000;
    }
  }
  const reads = proxy.tallies().find((t) => t.operation === 'GetItem')?.requests ?? 0;
  const per10 = marks.map((m, k) => m - (marks[k - 1] ?? 0));
  process.stdout.write(
    `An idle job, waited on for ${seconds} s with the default polling (moto 127.0.0.1, load ${loadavg()[0]!.toFixed(1)}): ` +
      `${reads} reads; per 10 s: ${per10.join(', ')}.\n`,
  );
} finally {
  dynamo.destroy();
  for (const c of Object.values(setup)) c.destroy();
  await proxy.close();
  await emulators.stop();
}
