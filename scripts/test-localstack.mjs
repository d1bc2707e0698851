#!/usr/bin/env node
/**
 * The LocalStack tier: `npm run test:localstack`.
 *
 * It needs a working Docker engine (LocalStack runs in a container and starts one container per
 * Lambda function). The image is pinned to localstack/localstack:4.14.0, the last release that
 * starts without an auth token; `LOCALSTACK_VERSION` picks another tag, and tags from 4.15 on (and
 * `latest`) need `LOCALSTACK_AUTH_TOKEN` (a free account gives one). Without what it needs it
 * prints why the tier is SKIPPED and exits 0, having run nothing and claiming nothing.
 *
 * Otherwise: `docker compose up -d` (docker-compose.yml), wait for LocalStack's health endpoint,
 * `cdklocal bootstrap`, `cdklocal deploy Fanfold --require-approval never` of the project's CDK app
 * (infra/app.ts, the same app `npx cdk deploy` sends to AWS) and of the e2e stack (test/e2e/stack.ts,
 * the shared Pool scenarios' tasks), the scenario suites (test/localstack/*.e2e.ts, vitest config
 * test/localstack/vitest.config.ts) with the SDK's endpoints pointed at LocalStack, then the
 * teardown whatever happened: `docker compose down --remove-orphans`, and the Lambda containers
 * LocalStack started removed by their label (they are not part of the compose project).
 *
 * Run it as `node --import tsx scripts/test-localstack.mjs` (the decision is TypeScript, shared
 * with its unit test). Every address is 127.0.0.1. `FANFOLD_LOCALSTACK_KEEP=1` leaves LocalStack
 * running afterwards; `--down` only runs the teardown (after a kept run, say).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decide, LAMBDA_CONTAINER_LABEL } from '../test/localstack/decide.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Where docker-compose.yml publishes LocalStack's edge port (loopback only). */
export const LOCALSTACK_ENDPOINT = 'http://127.0.0.1:4566';
/** The services the Fanfold stack and its deploy use (its functions have log groups); each must be up before the deploy. */
export const REQUIRED_SERVICES = [
  'cloudformation',
  'dynamodb',
  'iam',
  'lambda',
  'logs',
  's3',
  'sqs',
  'ssm',
  'sts',
];
const HEALTH_TIMEOUT_MS = 180_000;
/** The shared Pool scenarios' stack (test/e2e/stack.ts), deployed too when it is there. */
const E2E_APP = 'test/e2e/stack.ts';
const E2E_STACK = 'FanfoldE2e';

/** Runs `docker info`: ok when the client reaches a daemon. */
function dockerInfo() {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.error) return { ok: false, error: r.error.message };
  if (r.status !== 0) return { ok: false, error: `${r.stderr || r.stdout || `exit ${r.status}`}` };
  return { ok: true };
}

/** The environment every AWS client of the tier sees: LocalStack, dummy credentials, one region. */
function localstackEnv(env = process.env) {
  return {
    ...env,
    AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT,
    // cdklocal (for CDK CLI >= 2.177) refuses AWS_ENDPOINT_URL without AWS_ENDPOINT_URL_S3, and
    // would otherwise default both to *.localhost.localstack.cloud, a public DNS name. Loopback
    // only: S3 on the same port, path-style (no per-bucket host names on 127.0.0.1).
    AWS_ENDPOINT_URL_S3: LOCALSTACK_ENDPOINT,
    AWS_S3_FORCE_PATH_STYLE: '1',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_PROFILE: undefined,
    AWS_SESSION_TOKEN: undefined,
    FANFOLD_LOCALSTACK: '1',
  };
}

function log(line) {
  process.stdout.write(`[localstack] ${line}\n`);
}

/** Runs a command with inherited output; resolves to its exit code. */
function run(command, args, options = {}) {
  log(`$ ${command} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function runOrThrow(command, args, options) {
  const code = await run(command, args, options);
  if (code !== 0) throw new Error(`\`${command} ${args.join(' ')}\` exited ${code}`);
}

/** `docker compose` (the v2 plugin), else the standalone `docker-compose`. */
function composeCommand() {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0)
    return ['docker', ['compose']];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0)
    return ['docker-compose', []];
  throw new Error('Neither `docker compose` nor `docker-compose` is installed');
}

/** Waits until LocalStack reports every required service available or running. */
async function waitForHealth() {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${LOCALSTACK_ENDPOINT}/_localstack/health`);
      const body = await res.json();
      const services = body.services ?? {};
      const missing = REQUIRED_SERVICES.filter((s) => !['available', 'running'].includes(services[s]));
      if (missing.length === 0) {
        log(`LocalStack ${body.version ?? ''} (${body.edition ?? 'unknown edition'}) is up`);
        return;
      }
      last = `waiting for ${missing.join(', ')}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(1_000);
  }
  throw new Error(`LocalStack was not healthy within ${HEALTH_TIMEOUT_MS / 1000} s: ${last}`);
}

/**
 * `docker compose down --remove-orphans`, then the Lambda containers LocalStack started, found by
 * their label (LAMBDA_DOCKER_FLAGS in docker-compose.yml). Resolves to 0, or 1 if a step failed.
 */
async function teardown(compose, composeArgs) {
  let code = await run(compose, [...composeArgs, 'down', '--remove-orphans']);
  const ps = spawnSync('docker', ['ps', '-aq', '--filter', `label=${LAMBDA_CONTAINER_LABEL}`], {
    encoding: 'utf8',
  });
  if (ps.status !== 0) {
    log(`could not list the Lambda containers: ${(ps.stderr || ps.error?.message || '').trim()}`);
    return 1;
  }
  const ids = ps.stdout.split(/\s+/).filter(Boolean);
  if (ids.length > 0) code = (await run('docker', ['rm', '-f', ...ids])) || code;
  return code === 0 ? 0 : 1;
}

async function main(argv) {
  if (argv.includes('--down')) {
    const [compose, composeArgs] = composeCommand();
    return teardown(compose, composeArgs);
  }
  const verdict = decide(process.env, dockerInfo());
  if (!verdict.run) {
    process.stdout.write(`LocalStack tier SKIPPED: ${verdict.reason}\n`);
    return 0;
  }
  const cdklocal = join(ROOT, 'node_modules', '.bin', 'cdklocal');
  if (!existsSync(cdklocal)) throw new Error('node_modules/.bin/cdklocal is missing: run npm install');
  const [compose, composeArgs] = composeCommand();
  const env = localstackEnv();
  const out = mkdtempSync(join(tmpdir(), 'fanfold-localstack-'));
  let code = 1;
  try {
    // The decided tag, whatever compose would default to.
    await runOrThrow(compose, [...composeArgs, 'up', '-d'], {
      env: { ...process.env, LOCALSTACK_VERSION: verdict.version },
    });
    await waitForHealth();
    // Each run of the app synthesizes into a folder of its own: the project's cdk.out/ is left to others.
    await runOrThrow(cdklocal, ['bootstrap', '--output', join(out, 'bootstrap')], { env });
    await runOrThrow(
      cdklocal,
      ['deploy', 'Fanfold', '--require-approval', 'never', '--output', join(out, 'fanfold')],
      { env },
    );
    if (existsSync(join(ROOT, E2E_APP))) {
      await runOrThrow(
        cdklocal,
        [
          'deploy',
          E2E_STACK,
          '--app',
          `node --import tsx ${E2E_APP}`,
          '--require-approval',
          'never',
          '--output',
          join(out, 'e2e'),
        ],
        { env },
      );
    }
    code = await run('npx', ['vitest', 'run', '--config', 'test/localstack/vitest.config.ts'], { env });
  } finally {
    rmSync(out, { recursive: true, force: true });
    if (process.env.FANFOLD_LOCALSTACK_KEEP === '1')
      log(
        'FANFOLD_LOCALSTACK_KEEP=1: LocalStack left running (`npm run test:localstack -- --down` removes it)',
      );
    else if ((await teardown(compose, composeArgs)) !== 0) log('the teardown failed: see above');
  }
  return code;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`LocalStack tier FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
