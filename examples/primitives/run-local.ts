/**
 * `npm run example:primitives`: the five primitives examples on the aws context, against this
 * machine's emulators (no AWS account), as `npm run example:app` does for the application example:
 *
 * 1. `cdk synth` of `infra.ts` (the `FanfoldPrimitives` stack with the examples' tasks);
 * 2. the Lambda runner (test/runner, `startCloud`) stands it up: moto for SQS, DynamoDB and S3, the
 *    bundled functions behind a local Invoke API, the queue mappings polling;
 * 3. each example runs in its own process with `FANFOLD_STACK` set, told where AWS is only through
 *    the SDK's standard variables; what the tasks print inside the functions (the worker's name, the
 *    lines printed under the Lock) is shown as `[lambda]` lines, since a Lambda's output goes to its
 *    logs, not to the caller;
 * 4. everything is stopped and the temp folder removed.
 *
 * `FANFOLD_RUNNER_LOGS=1` prints all of the functions' output.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCloud } from '../../test/runner/runner.js';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION } from '../../test/support/emulators.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STACK = 'FanfoldPrimitives';
const EXAMPLES = ['process-name', 'pipe', 'pool-map', 'shared-value', 'lock'] as const;
/** Lines the examples' tasks print (the rest of a function's output is the runtime's). */
const TASK_LINE = /^(hello |.*\bhello world \d)/;

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

const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

const out = mkdtempSync(join(tmpdir(), 'fanfold-example-primitives-'));
let cloud: Awaited<ReturnType<typeof startCloud>> | undefined;
let failed = false;
try {
  let t = performance.now();
  await run(
    'npx',
    [
      'cdk',
      'synth',
      STACK,
      '--quiet',
      '--app',
      'node --import tsx examples/primitives/infra.ts',
      '--output',
      out,
    ],
    { ...process.env, FANFOLD_STACK: STACK },
    true,
  );
  console.log(`[example:primitives] cdk synth ${STACK}: ${seconds(t)}`);

  t = performance.now();
  const all = process.env.FANFOLD_RUNNER_LOGS === '1';
  cloud = await startCloud({
    cdkOut: out,
    stack: STACK,
    onLog: (source, line) => {
      const text = line.replace(/^\S+\s+\S+\s+INFO\s+/, '');
      if (all) process.stderr.write(`[${source}] ${line}\n`);
      else if (TASK_LINE.test(text)) console.log(`  [lambda] ${text}`);
    },
  });
  console.log(`[example:primitives] stack up on the runner (moto + local Lambda): ${seconds(t)}`);

  const { endpoints } = cloud;
  // What a deployed application would have: the SDK's standard variables, nothing fanfold-specific.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FANFOLD_STACK: STACK,
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
  for (const name of EXAMPLES) {
    console.log(`[example:primitives] ${name}.ts`);
    t = performance.now();
    await run(process.execPath, ['--import', 'tsx', `examples/primitives/${name}.ts`], env, false);
    console.log(`[example:primitives] ${name}.ts done in ${seconds(t)}`);
  }
  if (cloud.errors.length > 0) throw new Error(`the runner reported errors: ${cloud.errors.join('; ')}`);
} catch (e) {
  failed = true;
  console.error(`[example:primitives] FAILED: ${e instanceof Error ? e.message : String(e)}`);
} finally {
  await cloud?.stop();
  rmSync(out, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
