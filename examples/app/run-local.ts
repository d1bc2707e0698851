/**
 * `npm run example:app`: the application example against this machine's emulators, no AWS account.
 *
 * 1. `cdk synth` of `infra.ts` (the `FanfoldExample` stack with the example's tasks) into a temp folder;
 * 2. the Lambda runner (test/runner, `startCloud`) stands the stack up: moto on 127.0.0.1 for SQS,
 *    DynamoDB and S3, the bundled functions behind a local Invoke API, the queue mappings polling;
 * 3. `main.ts` runs as any application would, in its own process, told where AWS is only through
 *    the environment (`AWS_ENDPOINT_URL_*`, region, dummy credentials);
 * 4. everything is stopped and the temp folder removed.
 *
 * `FANFOLD_RUNNER_LOGS=1` prints the functions' output.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCloud } from '../../test/runner/runner.js';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION } from '../../test/support/emulators.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STACK = 'FanfoldExample';

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

const out = mkdtempSync(join(tmpdir(), 'fanfold-example-app-'));
let cloud: Awaited<ReturnType<typeof startCloud>> | undefined;
let failed = false;
try {
  let t = performance.now();
  await run(
    'npx',
    ['cdk', 'synth', STACK, '--quiet', '--app', 'node --import tsx examples/app/infra.ts', '--output', out],
    { ...process.env, FANFOLD_STACK: STACK },
    true,
  );
  console.log(`[example:app] cdk synth ${STACK}: ${seconds(t)}`);

  t = performance.now();
  cloud = await startCloud({ cdkOut: out, stack: STACK });
  console.log(`[example:app] stack up on the runner (moto + local Lambda): ${seconds(t)}`);

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
  await run(process.execPath, ['--import', 'tsx', 'examples/app/main.ts'], env, false);
  if (cloud.errors.length > 0) throw new Error(`the runner reported errors: ${cloud.errors.join('; ')}`);
} catch (e) {
  failed = true;
  console.error(`[example:app] FAILED: ${e instanceof Error ? e.message : String(e)}`);
} finally {
  await cloud?.stop();
  rmSync(out, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
