/**
 * The runner's Invoke API and sandbox, through the real `@aws-sdk/client-lambda` client, on the
 * fixture assembly: payloads, errors in Lambda's shapes, warm and fresh containers, timeouts,
 * and the environment a function runs with.
 */
import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client, sqsClient } from '../src/clients.js';
import { INSTALL_TIMEOUT_MS } from '../src/emulators.js';
import { type Cloud, startCloud } from '../src/runner.js';
import { FunctionSandbox } from '../src/sandbox.js';
import { eventually, readObject, scaledAssembly } from './support.js';

let cloud: Cloud;
let lambda: LambdaClient;
let s3: S3Client;
let sqs: SQSClient;

beforeAll(async () => {
  // Short pauses between an async event's attempts (Lambda's are a minute and two).
  // Sleep's 1 s timeout is the subject of the timeout tests; the others follow the machine's pace.
  cloud = await startCloud({ cdkOut: scaledAssembly(['Sleep']), asyncRetryDelaysMs: [100, 200] });
  // maxAttempts 1: the SDK must not retry what the tests look at.
  lambda = new LambdaClient({ ...cloud.clientOptions, endpoint: cloud.lambdaEndpoint, maxAttempts: 1 });
  s3 = s3Client({ ...cloud.clientOptions, endpoint: cloud.endpoints.s3 });
  sqs = sqsClient({ ...cloud.clientOptions, endpoint: cloud.endpoints.sqs });
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  lambda?.destroy();
  s3?.destroy();
  sqs?.destroy();
  await cloud?.stop();
});

async function invoke(
  logicalId: string,
  payload: unknown,
  extra: Partial<ConstructorParameters<typeof InvokeCommand>[0]> = {},
): Promise<{ out: InvokeCommandOutput; body: unknown }> {
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: cloud.functionName(logicalId),
      Payload: JSON.stringify(payload),
      ...extra,
    }),
  );
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  return { out, body: text === '' ? undefined : JSON.parse(text) };
}

interface Echo {
  event: unknown;
  env: Record<string, string>;
  leaked: string[];
  pid: number;
  invocations: number;
  context: { functionName: string; memoryLimitInMB: string; invokedFunctionArn: string; remainingMs: number };
}

describe('Invoke (RequestResponse)', () => {
  it('returns the handler result with status 200 and the executed version', async () => {
    const sent = Date.now();
    const { out, body } = await invoke('Echo', { hello: 'world', n: [1, 2, 3] });
    const took = Date.now() - sent;
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBeUndefined();
    expect(out.ExecutedVersion).toBe('$LATEST');
    const echo = body as Echo;
    expect(echo.event).toEqual({ hello: 'world', n: [1, 2, 3] });
    expect(echo.context.functionName).toBe(cloud.functionName('Echo'));
    expect(echo.context.invokedFunctionArn).toBe(cloud.stack.outputs.EchoArn);
    expect(echo.context.memoryLimitInMB).toBe('256');
    // The function's timeout (5 s as written, scaled with the machine's pace) less the time the
    // invocation took to reach the handler, which is at most the whole round trip measured here
    // (1 ms for the two clocks' rounding).
    const timeoutMs =
      cloud.stack.functions.find((f) => f.logicalId.startsWith('Echo'))!.timeoutSeconds * 1000;
    expect(echo.context.remainingMs).toBeGreaterThanOrEqual(timeoutMs - took - 1);
    expect(echo.context.remainingMs).toBeLessThanOrEqual(timeoutMs);
  });

  it('reuses a warm container for sequential invocations', async () => {
    const first = (await invoke('Echo', {})).body as Echo;
    const second = (await invoke('Echo', {})).body as Echo;
    expect(second.pid).toBe(first.pid);
    expect(second.invocations).toBe(first.invocations + 1);
  });

  it('runs concurrent invocations in separate containers', async () => {
    const results = await Promise.all([1, 2, 3].map(() => invoke('Sleep', { ms: 300 })));
    const pids = new Set(results.map((r) => (r.body as { pid: number }).pid));
    expect(pids.size).toBe(3);
  });

  it('accepts the function ARN and the $LATEST qualifier, and refuses other qualifiers', async () => {
    const byArn = await lambda.send(
      new InvokeCommand({ FunctionName: cloud.stack.outputs.EchoArn, Payload: '{}' }),
    );
    expect(byArn.StatusCode).toBe(200);
    const latest = await lambda.send(
      new InvokeCommand({ FunctionName: cloud.functionName('Echo'), Qualifier: '$LATEST', Payload: '{}' }),
    );
    expect(latest.StatusCode).toBe(200);
    await expect(
      lambda.send(
        new InvokeCommand({ FunctionName: cloud.functionName('Echo'), Qualifier: '7', Payload: '{}' }),
      ),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('passes an empty payload as the event {}', async () => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: cloud.functionName('Echo') }));
    const echo = JSON.parse(Buffer.from(out.Payload!).toString()) as Echo;
    expect(echo.event).toEqual({});
  });

  it('returns the tail of the log with LogType Tail', async () => {
    const { out } = await invoke('Echo', { log: 'a line from the handler' }, { LogType: 'Tail' });
    expect(Buffer.from(out.LogResult ?? '', 'base64').toString()).toContain('a line from the handler');
  });
});

describe('Invoke errors', () => {
  it('reports a thrown error as Unhandled with errorType, errorMessage and trace', async () => {
    const { out, body } = await invoke('Throw', {});
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    expect(body).toMatchObject({ errorType: 'TypeError', errorMessage: 'kaboom' });
    expect((body as { trace: string[] }).trace[0]).toBe('TypeError: kaboom');
  });

  it('refuses an unknown function with ResourceNotFoundException (404)', async () => {
    const error = await lambda
      .send(new InvokeCommand({ FunctionName: 'no-such-function', Payload: '{}' }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect((error as ResourceNotFoundException).$metadata.httpStatusCode).toBe(404);
    expect((error as Error).message).toContain(
      'Function not found: arn:aws:lambda:us-east-1:123456789012:function:no-such-function',
    );
  });

  it('refuses a payload that is not JSON with InvalidRequestContentException (400)', async () => {
    const error = await lambda
      .send(new InvokeCommand({ FunctionName: cloud.functionName('Echo'), Payload: 'not json' }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as Error).name).toBe('InvalidRequestContentException');
    expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);
  });

  it('fails an invocation whose process exits with Runtime.ExitError, and replaces the container', async () => {
    const before = (await invoke('Echo', {})).body as Echo;
    const { out, body } = await invoke('Echo', { exit: 3 });
    expect(out.FunctionError).toBe('Unhandled');
    expect(body).toMatchObject({ errorType: 'Runtime.ExitError' });
    expect((body as { errorMessage: string }).errorMessage).toContain('exit status 3');
    const after = (await invoke('Echo', {})).body as Echo;
    expect(after.pid).not.toBe(before.pid);
    expect(after.invocations).toBe(1);
  });
});

describe('killing a container', () => {
  it('kills a container by its pid: its invocation fails with Runtime.ExitError, the next gets a new one', async () => {
    const spec = cloud.stack.functions.find((f) => f.logicalId.startsWith('Sleep'))!;
    // Ten minutes to sleep and as long to run: only the kill ends this invocation.
    const sandbox = new FunctionSandbox(
      { ...spec, timeoutSeconds: 600 },
      { runtimeEnv: {}, maxContainers: 1 },
    );
    try {
      const running = sandbox.invoke('{"ms":600000}');
      const pid = await eventually(async () => sandbox.pids()[0], 'a container');
      expect(sandbox.kill(process.pid)).toBe(false);
      expect(sandbox.kill(pid)).toBe(true);
      const outcome = await running;
      expect(outcome.functionError).toBe('Unhandled');
      expect(JSON.parse(outcome.payload)).toMatchObject({
        errorType: 'Runtime.ExitError',
        errorMessage: expect.stringContaining('signal: killed'),
      });
      await eventually(async () => (isAlive(pid) ? undefined : true), `process ${pid} to end`);
      expect(sandbox.kill(pid)).toBe(false);
      const next = await sandbox.invoke('{"ms":0}');
      expect(next).toMatchObject({ functionError: undefined, cold: true });
    } finally {
      await sandbox.stop();
    }
  });
});

describe('timeouts', () => {
  it('fails an overrunning invocation with Task timed out and kills its container', async () => {
    const sandbox = cloud.sandboxes.get(cloud.functionName('Sleep'))!;
    const before = sandbox.pids();
    // Ten minutes, against the function's 1 s timeout: the invocation returns within the test's
    // time only if the runner cut it off.
    const { out, body } = await invoke('Sleep', { ms: 600_000 });
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    expect(body).toMatchObject({ errorType: 'Sandbox.Timedout' });
    expect((body as { errorMessage: string }).errorMessage).toMatch(/Task timed out after 1\.00 seconds$/);
    // One container (a warm one if there was any) ran it, and is gone.
    const killed = before.filter((pid) => !sandbox.pids().includes(pid));
    expect(killed).toHaveLength(before.length > 0 ? 1 : 0);
    for (const pid of killed)
      await eventually(async () => (isAlive(pid) ? undefined : true), `process ${pid} to end`);
  });

  it('gives the invocation after a timeout a fresh container', async () => {
    const spec = cloud.stack.functions.find((f) => f.logicalId.startsWith('Sleep'))!;
    const sandbox = new FunctionSandbox(spec, { runtimeEnv: {}, maxContainers: 1 });
    try {
      const first = await sandbox.invoke('{"ms":0}');
      const timedOut = await sandbox.invoke('{"ms":600000}');
      const next = await sandbox.invoke('{"ms":0}');
      expect(first.cold).toBe(true);
      expect(timedOut).toMatchObject({ functionError: 'Unhandled', cold: false });
      expect(next.cold).toBe(true);
      expect(JSON.parse(next.payload).pid).not.toBe(JSON.parse(first.payload).pid);
      expect(sandbox.stats()).toMatchObject({ invocations: 3, coldStarts: 2, containers: 1 });
    } finally {
      await sandbox.stop();
    }
  });
});

describe('Invoke (Event)', () => {
  it('answers 202 at once and runs the invocation in the background', async () => {
    const key = `event-${Date.now()}`;
    const { out } = await invoke('Echo', { trace: key }, { InvocationType: 'Event' });
    expect(out.StatusCode).toBe(202);
    const text = await eventually(
      () => readObject(s3, cloud.stack.outputs.TraceBucketName!, key),
      `object ${key}`,
    );
    expect(JSON.parse(text)).toEqual({ trace: key });
  });

  it("retries a failed event MaximumRetryAttempts times, then sends Lambda's invocation record to OnFailure", async () => {
    const throws = cloud.sandboxes.get(cloud.functionName('Throw'))!;
    const before = throws.stats().invocations;
    const payload = { n: Date.now() };
    const { out } = await invoke('Throw', payload, { InvocationType: 'Event' });
    expect(out.StatusCode).toBe(202);
    const queueUrl = cloud.resources.AsyncFailures8D2E4F6A!.ref;
    const message = await eventually(async () => {
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
      return got.Messages?.[0];
    }, 'the invocation record');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
    const record = JSON.parse(message.Body!);
    expect(record).toMatchObject({
      version: '1.0',
      requestContext: {
        functionArn: `${throws.spec.arn}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 2,
      },
      requestPayload: payload,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'TypeError', errorMessage: 'kaboom' },
    });
    // One retry (the config's MaximumRetryAttempts), so two runs.
    expect(throws.stats().invocations - before).toBe(2);
  });

  it("retries a function without a config twice (Lambda's default) and drops the event", async () => {
    const echo = cloud.sandboxes.get(cloud.functionName('Echo'))!;
    const before = { runs: echo.stats().invocations, ...cloud.async.stats() };
    await invoke('Echo', { exit: 3 }, { InvocationType: 'Event' });
    await eventually(
      async () => (cloud.async.stats().dropped > before.dropped ? true : undefined),
      'the event to be dropped',
    );
    expect(echo.stats().invocations - before.runs).toBe(3);
    expect(cloud.async.stats().failed).toBe(before.failed);
  });

  it('answers 204 to DryRun without invoking', async () => {
    const { out } = await invoke('Echo', {}, { InvocationType: 'DryRun' });
    expect(out.StatusCode).toBe(204);
  });
});

describe('environment', () => {
  it("gives the function the template's variables, resolved against the deployed resources", async () => {
    const { env } = (await invoke('Echo', {})).body as Echo;
    const { resources, outputs } = cloud.stack;
    expect(env.FIXTURE_TABLE).toBe(outputs.TableName);
    expect(env.FIXTURE_QUEUE_URL).toBe(outputs.WorkQueueUrl);
    expect(env.FIXTURE_QUEUE_ARN).toMatch(/^arn:aws:sqs:us-east-1:123456789012:Fixture-WorkQueue0A9E3F5B-/);
    expect(env.FIXTURE_QUEUE_ARN).toBe(resources.WorkQueue0A9E3F5B?.attributes.Arn);
    expect(env.FIXTURE_JOINED).toBe(`${outputs.TableName}/us-east-1`);
    expect(env.FIXTURE_SUB).toBe(`${outputs.TraceBucketName}@123456789012`);
    expect(env.FIXTURE_NUMBER).toBe('42');
    expect(env.FIXTURE_ROLE).toMatch(/^arn:aws:iam::123456789012:role\//);
    expect(env.TRACE_BUCKET).toBe(outputs.TraceBucketName);
  });

  it("adds Lambda's own variables, the emulators' endpoints and dummy credentials, and nothing of the caller's", async () => {
    const { env, leaked } = (await invoke('Echo', {})).body as Echo;
    expect(env).toMatchObject({
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: cloud.functionName('Echo'),
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      _HANDLER: 'index.handler',
      AWS_ENDPOINT_URL_SQS: cloud.endpoints.sqs,
      AWS_ENDPOINT_URL_DYNAMODB: cloud.endpoints.dynamodb,
      AWS_ENDPOINT_URL_S3: cloud.endpoints.s3,
      AWS_ENDPOINT_URL_LAMBDA: cloud.lambdaEndpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      TZ: ':UTC',
    });
    expect(env.LAMBDA_TASK_ROOT).toMatch(/asset\.echo$/);
    expect(leaked).toEqual([]);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
