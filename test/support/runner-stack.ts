/**
 * A fanfold stack from a cloud assembly, stood up on the Lambda runner (test/runner/) for the
 * end-to-end tests, with what each of them needs around it: the caller's SDK clients (one attempt
 * each, so a failure surfaces instead of being retried away), the functions' output (printed when
 * a test fails, or always with `FANFOLD_E2E_LOGS=1`) and an `aws()` context on the stack.
 *
 * @example
 * ```ts
 * const stack = await startRunnerStack({ cdkOut: await e2eAssembly(), stack: E2E_STACK });
 * const mp = stack.context(tasks);
 * ```
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach } from 'vitest';
import type { TaskMap } from '../../src/api/tasks.js';
import { type AwsContext, type AwsOptions, aws } from '../../src/aws/context.js';
import {
  type Cloud,
  type Emulators,
  emulatorClients,
  type StartCloudOptions,
  scaleTimeouts,
  startCloud,
  type Template,
} from '../runner/index.js';

/** The caller's clients of a stack on the runner. */
export interface RunnerStackClients {
  readonly lambda: LambdaClient;
  readonly cloudformation: CloudFormationClient;
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
}

/** A stack on the runner. */
export interface RunnerStack {
  readonly cloud: Cloud;
  /** The stack's name in the assembly. */
  readonly name: string;
  /** The caller's clients: one attempt per request. */
  readonly clients: RunnerStackClients;
  /** Everything the functions wrote, `[source] line`. */
  readonly logs: readonly string[];
  /** An `aws()` context on the stack, through {@link clients} unless others are given. */
  context<T extends TaskMap>(options: Omit<AwsOptions<T>, 'stack'>): AwsContext<T>;
  /** Destroys the clients and stops the runner. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startRunnerStack}. */
export interface RunnerStackOptions {
  /** The cloud assembly folder. */
  readonly cdkOut: string;
  /** The stack in it. */
  readonly stack: string;
  /** An emulator to deploy on (left running by stop()). @default the runner starts its own */
  readonly emulators?: Emulators;
  /** Variables over the template's, by function logical id prefix (the runner's `environment`). */
  readonly environment?: StartCloudOptions['environment'];
  /**
   * Multiplies the stack's function and queue visibility timeouts (runner `scaleTimeouts`), on a
   * copy of the assembly: for a test whose processes run as long as the machine lets them, not a
   * test of a timeout. @default 1 (the template as written)
   */
  readonly timeoutScale?: number;
}

/** A copy of the assembly `cdkOut` with the timeouts of `stack`'s template multiplied by `factor`. */
function scaledCopy(cdkOut: string, stack: string, factor: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'fanfold-runner-stack-'));
  cpSync(cdkOut, dir, { recursive: true });
  const file = join(dir, `${stack}.template.json`);
  const template = JSON.parse(readFileSync(file, 'utf8')) as Template;
  scaleTimeouts(template, factor);
  writeFileSync(file, JSON.stringify(template));
  return dir;
}

/** Makes the caller's clients of `cloud`, one attempt per request. */
export function runnerStackClients(cloud: Cloud): RunnerStackClients {
  const options = { ...cloud.clientOptions, maxAttempts: 1 };
  return {
    lambda: new LambdaClient({ ...options, endpoint: cloud.lambdaEndpoint }),
    cloudformation: new CloudFormationClient({ ...options, endpoint: cloud.endpoints.cloudformation }),
    ...emulatorClients(options),
  };
}

/**
 * Stands the stack up. Call it in a `beforeAll` (with room for a synth and moto's first install);
 * registers an `afterEach` that prints the functions' last output when a test failed.
 */
export async function startRunnerStack(o: RunnerStackOptions): Promise<RunnerStack> {
  const logs: string[] = [];
  const copy =
    o.timeoutScale && o.timeoutScale !== 1 ? scaledCopy(o.cdkOut, o.stack, o.timeoutScale) : undefined;
  const cloud = await startCloud({
    cdkOut: copy ?? o.cdkOut,
    stack: o.stack,
    ...(o.emulators ? { emulators: o.emulators } : {}),
    ...(o.environment ? { environment: o.environment } : {}),
    onLog: (source, line) => logs.push(`[${source}] ${line}`),
  });
  const clients = runnerStackClients(cloud);
  let stopping: Promise<void> | undefined;
  return {
    cloud,
    name: o.stack,
    clients,
    logs,
    context: (options) => aws({ clients, ...options, stack: o.stack }),
    stop() {
      stopping ??= (async () => {
        if (process.env.FANFOLD_E2E_LOGS === '1') console.error(logs.join('\n'));
        for (const c of Object.values(clients)) c.destroy();
        await cloud.stop();
        if (copy) rmSync(copy, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/** Prints the last 300 lines the functions wrote after each failed test of the file. */
export function printLogsOnFailure(logs: () => readonly string[] | undefined): void {
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error((logs() ?? []).slice(-300).join('\n'));
  });
}
