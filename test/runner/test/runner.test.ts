/**
 * startCloud() as a whole, on the fixture assembly: the resources it creates from the template,
 * a deploy that CloudFormation would refuse, an assembly outside the project, and a stop() that
 * leaves no process behind.
 */
import { rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetBucketLifecycleConfigurationCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoClient, s3Client, sqsClient } from '../src/clients.js';
import { type Emulators, INSTALL_TIMEOUT_MS, startEmulators } from '../src/emulators.js';
import { startCloud } from '../src/runner.js';
import { scaleTimeouts } from '../src/template.js';
import {
  copyAssembly,
  eventually,
  FIXTURE_ASSEMBLY,
  machinePace,
  readObject,
  scaledAssembly,
} from './support.js';

let emulators: Emulators;

beforeAll(async () => {
  emulators = await startEmulators();
}, INSTALL_TIMEOUT_MS);

afterAll(() => emulators?.stop());

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startCloud()', () => {
  it('creates the queues, table and bucket of the template with their settings', async () => {
    const cloud = await startCloud({ cdkOut: FIXTURE_ASSEMBLY, emulators });
    const sqs = sqsClient(emulators.clientOptions);
    const dynamo = dynamoClient(emulators.clientOptions);
    const s3 = s3Client(emulators.clientOptions);
    try {
      const { outputs, resources } = cloud.stack;
      const work = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: outputs.WorkQueueUrl, AttributeNames: ['All'] }),
      );
      expect(work.Attributes?.VisibilityTimeout).toBe('2');
      expect(JSON.parse(work.Attributes?.RedrivePolicy ?? '{}')).toEqual({
        deadLetterTargetArn: resources.WorkDlq1C6B4A9D?.attributes.Arn,
        maxReceiveCount: 2,
      });
      const dlq = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: outputs.WorkDlqUrl,
          AttributeNames: ['MessageRetentionPeriod'],
        }),
      );
      expect(dlq.Attributes?.MessageRetentionPeriod).toBe('1209600');
      const table = await dynamo.send(new DescribeTableCommand({ TableName: outputs.TableName }));
      expect(table.Table?.KeySchema).toEqual([
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ]);
      expect(table.Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      const ttl = await dynamo.send(new DescribeTimeToLiveCommand({ TableName: outputs.TableName }));
      expect(ttl.TimeToLiveDescription).toMatchObject({
        TimeToLiveStatus: 'ENABLED',
        AttributeName: 'expiresAt',
      });
      const lifecycle = await s3.send(
        new GetBucketLifecycleConfigurationCommand({ Bucket: outputs.TraceBucketName }),
      );
      expect(lifecycle.Rules?.[0]?.Expiration?.Days).toBe(1);
      // Four functions, five mappings; IAM and CDK metadata are only named.
      expect(cloud.stack.functions.map((f) => f.logicalId).sort()).toEqual([
        'Consumer5F3A2B9C',
        'Echo4E1B7C21',
        'Sleep2B7C8D1E',
        'Throw9A3D5E6F',
      ]);
      expect(cloud.pollers).toHaveLength(5);
      expect([...cloud.stack.unmodelled].sort()).toEqual([
        'CDKMetadata',
        'ServiceRole4F2A0C7E',
        'ServiceRoleDefaultPolicy5E1C3B7A',
      ]);
      // The function without asset metadata was found through the asset manifest.
      expect(cloud.stack.functions.find((f) => f.logicalId.startsWith('Throw'))?.codeDir).toMatch(
        /asset\.throw$/,
      );
    } finally {
      for (const client of [sqs, dynamo, s3]) client.destroy();
      await cloud.stop();
    }
  });

  it('refuses a mapping whose queue visibility timeout is shorter than the function timeout', async () => {
    const dir = copyAssembly((t) => {
      t.Resources.WorkQueue0A9E3F5B!.Properties.VisibilityTimeout = 1;
    });
    try {
      await expect(startCloud({ cdkOut: dir, emulators })).rejects.toThrow(
        'Queue visibility timeout: 1 seconds is less than Function timeout: 2 seconds',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses variables that Lambda reserves, as CreateFunction does', async () => {
    const dir = copyAssembly((t) => {
      (
        t.Resources.Echo4E1B7C21!.Properties.Environment as { Variables: Record<string, unknown> }
      ).Variables.AWS_REGION = 'eu-west-1';
    });
    try {
      await expect(startCloud({ cdkOut: dir, emulators })).rejects.toThrow(
        'Echo4E1B7C21: Lambda reserves the environment variables AWS_REGION',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('throttles invocations past ReservedConcurrentExecutions with TooManyRequestsException (429)', async () => {
    const dir = copyAssembly((t) => {
      // The reserved concurrency is the subject, not the timeout: the first call must not time out.
      scaleTimeouts(t, Math.ceil(machinePace));
      t.Resources.Sleep2B7C8D1E!.Properties.ReservedConcurrentExecutions = 1;
    });
    const cloud = await startCloud({ cdkOut: dir, emulators });
    const lambda = new LambdaClient({
      ...emulators.clientOptions,
      endpoint: cloud.lambdaEndpoint,
      maxAttempts: 1,
    });
    try {
      const invoke = () =>
        lambda.send(new InvokeCommand({ FunctionName: cloud.functionName('Sleep'), Payload: '{"ms":300}' }));
      const [first, second] = await Promise.allSettled([invoke(), invoke()]);
      expect(first).toMatchObject({ status: 'fulfilled', value: { StatusCode: 200 } });
      expect(second).toMatchObject({
        status: 'rejected',
        reason: { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } },
      });
    } finally {
      lambda.destroy();
      await cloud.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs bundles of an assembly outside the project, with the AWS SDK provided as on Lambda', async () => {
    const dir = scaledAssembly();
    const cloud = await startCloud({ cdkOut: dir, emulators });
    const lambda = new LambdaClient({
      ...emulators.clientOptions,
      endpoint: cloud.lambdaEndpoint,
      maxAttempts: 1,
    });
    const s3 = s3Client(emulators.clientOptions);
    try {
      // The echo fixture imports @aws-sdk/client-s3, which no node_modules above the temp folder has.
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: cloud.functionName('Echo'),
          Payload: JSON.stringify({ trace: 'outside' }),
        }),
      );
      expect(out.FunctionError).toBeUndefined();
      expect(await readObject(s3, cloud.stack.outputs.TraceBucketName!, 'outside')).toBe(
        '{"trace":"outside"}',
      );
    } finally {
      lambda.destroy();
      s3.destroy();
      await cloud.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sends a party's requests to its serviceEndpoint (a proxy in front of the emulator)", async () => {
    // A forwarding recorder: notes each request's method and path, then passes it to the emulator.
    const seen: string[] = [];
    const target = new URL(emulators.endpoint);
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const out = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(out);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const proxy = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cloud = await startCloud({
      cdkOut: scaledAssembly(),
      emulators,
      serviceEndpoint: (party) => (party.startsWith('Echo') ? proxy : undefined),
    });
    const lambda = new LambdaClient({
      ...emulators.clientOptions,
      endpoint: cloud.lambdaEndpoint,
      maxAttempts: 1,
    });
    try {
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: cloud.functionName('Echo'),
          Payload: JSON.stringify({ trace: 'via' }),
        }),
      );
      const { env } = JSON.parse(Buffer.from(out.Payload!).toString()) as { env: Record<string, string> };
      expect(env.AWS_ENDPOINT_URL_S3).toBe(proxy);
      expect(env.AWS_ENDPOINT_URL_DYNAMODB).toBe(proxy);
      expect(env.AWS_ENDPOINT_URL_LAMBDA).toBe(proxy);
      expect(seen.map((s) => s.split('?')[0])).toContain(`PUT /${cloud.stack.outputs.TraceBucketName}/via`);
    } finally {
      lambda.destroy();
      await cloud.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('stop() kills every container and closes the Invoke API, and leaves given emulators running', async () => {
    const cloud = await startCloud({ cdkOut: scaledAssembly(), emulators });
    const lambda = new LambdaClient({
      ...emulators.clientOptions,
      endpoint: cloud.lambdaEndpoint,
      maxAttempts: 1,
    });
    await Promise.all(
      ['Echo', 'Sleep'].map((f) => lambda.send(new InvokeCommand({ FunctionName: cloud.functionName(f) }))),
    );
    lambda.destroy();
    const pids = [...cloud.sandboxes.values()].flatMap((s) => s.pids());
    // Echo, Sleep, and the consumers the mappings started (or not yet): at least two.
    expect(pids.length).toBeGreaterThanOrEqual(2);
    await cloud.stop();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    await expect(
      fetch(`${cloud.lambdaEndpoint}/2015-03-31/functions/x/invocations`, { method: 'POST' }),
    ).rejects.toThrow();
    const sqs = sqsClient(emulators.clientOptions);
    try {
      await expect(sqs.send(new ListQueuesCommand({}))).resolves.toBeDefined();
    } finally {
      sqs.destroy();
    }
  });

  it('stops the emulators it started', async () => {
    const cloud = await startCloud({ cdkOut: FIXTURE_ASSEMBLY });
    const sqs = sqsClient({ ...cloud.clientOptions, maxAttempts: 1 });
    await cloud.stop();
    try {
      await eventually(
        () =>
          sqs.send(new ListQueuesCommand({})).then(
            () => undefined,
            () => true,
          ),
        'the emulator to refuse connections',
      );
    } finally {
      sqs.destroy();
    }
  });
});
