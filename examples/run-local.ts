/**
 * What `npm run example:app` and `npm run example:primitives` share: an example's stack run on this
 * machine's emulators, no AWS account.
 *
 * 1. `cdk synth` of the example's `infra.ts` into a temp folder;
 * 2. the Lambda runner (test/runner, `startCloud`) stands the stack up: moto on 127.0.0.1 for SQS,
 *    DynamoDB and S3, the bundled functions behind a local Invoke API, the queue mappings polling;
 * 3. the example's scripts run as any application would, each in its own process, told where AWS is
 *    only through the environment (`AWS_ENDPOINT_URL_*`, region, dummy credentials);
 * 4. everything is stopped, the temp folder removed, and the process exits 0, or 1 on a failure.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EMULATOR_CREDENTIALS,
  EMULATOR_REGION,
  type StartCloudOptions,
  startCloud,
} from '../test/runner/index.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** What {@link runExample} needs of an example. */
export interface ExampleRun {
  /** The example's folder under examples/ (`app`, `primitives`): its `infra.ts`, and the log prefix. */
  readonly name: string;
  /** The stack `infra.ts` defines, and `FANFOLD_STACK` for the scripts. */
  readonly stack: string;
  /** Where the functions' output goes (the runner's default otherwise). */
  readonly onLog?: StartCloudOptions['onLog'];
  /** Runs the example's scripts; `script(path)` runs one (a path from the repository root). */
  readonly main: (script: (path: string) => Promise<void>) => Promise<void>;
}

/** Runs `command` in the repository root; rejects with its output (when `quiet`) if it fails. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, quiet: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env,
      stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    let output = '';
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')} exited ${code ?? signal}\n${output}`)),
    );
  });
}

/** The time since `since` (a `performance.now()`), for the progress lines. */
export const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** Synthesizes and stands up the example's stack, runs `main`, stops everything, and exits. */
export async function runExample(example: ExampleRun): Promise<never> {
  const { name, stack } = example;
  const out = mkdtempSync(join(tmpdir(), `fanfold-example-${name}-`));
  let cloud: Awaited<ReturnType<typeof startCloud>> | undefined;
  let failed = false;
  try {
    let t = performance.now();
    const app = `node --import tsx examples/${name}/infra.ts`;
    await run(
      'npx',
      ['cdk', 'synth', stack, '--quiet', '--app', app, '--output', out],
      { ...process.env, FANFOLD_STACK: stack },
      true,
    );
    console.log(`[example:${name}] cdk synth ${stack}: ${seconds(t)}`);

    t = performance.now();
    cloud = await startCloud({
      cdkOut: out,
      stack,
      ...(example.onLog ? { onLog: example.onLog } : {}),
    });
    console.log(`[example:${name}] stack up on the runner (moto + local Lambda): ${seconds(t)}`);

    const { endpoints } = cloud;
    // What a deployed application would have: the SDK's standard variables, nothing fanfold-specific.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FANFOLD_STACK: stack,
      AWS_REGION: EMULATOR_REGION,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_LAMBDA: endpoints.lambda,
      AWS_ENDPOINT_URL_CLOUDFORMATION: endpoints.cloudformation,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    };
    for (const k of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL']) delete env[k];
    await example.main((path) => run(process.execPath, ['--import', 'tsx', path], env, false));
    if (cloud.errors.length > 0) throw new Error(`the runner reported errors: ${cloud.errors.join('; ')}`);
  } catch (e) {
    failed = true;
    console.error(`[example:${name}] FAILED: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await cloud?.stop();
    rmSync(out, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}
