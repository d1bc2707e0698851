/**
 * The LocalStack tier's decision (plain logic, part of `npm test`), its compose file, its skip
 * path (on a machine without a Docker engine, or without `LOCALSTACK_AUTH_TOKEN` for a tag that
 * needs one, `scripts/test-localstack.mjs` says why it skipped, exits 0 and claims no test
 * passed) and its teardown, against a `docker` that records what it is asked.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_LOCALSTACK_VERSION,
  decide,
  LAMBDA_CONTAINER_LABEL,
  LOCALSTACK_IMAGE,
  needsToken,
} from './decide.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DAEMON_DOWN =
  'Client:\n Version: 28.0.0\n\nServer:\nCannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n';

describe('decide', () => {
  it('skips without a Docker engine, quoting the last line docker info printed', () => {
    expect(decide({ LOCALSTACK_AUTH_TOKEN: 'ls-token' }, { ok: false, error: DAEMON_DOWN })).toEqual({
      run: false,
      reason:
        'no Docker engine here (docker info failed: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)',
    });
  });

  it('skips when docker itself is missing', () => {
    expect(decide({}, { ok: false, error: 'spawnSync docker ENOENT' })).toEqual({
      run: false,
      reason: 'no Docker engine here (docker info failed: spawnSync docker ENOENT)',
    });
    expect(decide({}, { ok: false })).toMatchObject({
      run: false,
      reason: expect.stringContaining('unknown'),
    });
  });

  const needing = (v: string) =>
    `LOCALSTACK_AUTH_TOKEN is not set, and localstack/localstack:${v} requires one (4.14.0, the tier's default, does not: unset LOCALSTACK_VERSION)`;

  it('runs the pinned 4.14.0 without a token', () => {
    expect(decide({}, { ok: true })).toEqual({ run: true, version: '4.14.0' });
    expect(decide({ LOCALSTACK_VERSION: ' ' }, { ok: true })).toEqual({ run: true, version: '4.14.0' });
    expect(decide({ LOCALSTACK_VERSION: '4.12.0' }, { ok: true })).toEqual({ run: true, version: '4.12.0' });
  });

  it('skips a tag that needs a token when LOCALSTACK_AUTH_TOKEN is not set, blank counting as missing', () => {
    expect(decide({ LOCALSTACK_VERSION: 'latest' }, { ok: true })).toEqual({
      run: false,
      reason: needing('latest'),
    });
    expect(decide({ LOCALSTACK_VERSION: '4.15.0', LOCALSTACK_AUTH_TOKEN: '  ' }, { ok: true })).toEqual({
      run: false,
      reason: needing('4.15.0'),
    });
  });

  it('runs any tag with an engine and a token', () => {
    for (const v of ['latest', '2026.06.0', '4.14.0'])
      expect(decide({ LOCALSTACK_VERSION: v, LOCALSTACK_AUTH_TOKEN: 'ls-token' }, { ok: true })).toEqual({
        run: true,
        version: v,
      });
  });
});

describe('needsToken', () => {
  it('is false up to 4.14.x and true from 4.15, for calendar versions and for names', () => {
    for (const v of ['3.8.0', '4.0.0', '4.14.0', '4.14.2', 'v4.13']) expect(needsToken(v), v).toBe(false);
    for (const v of ['4.15.0', '4.20', '5.0.0', '2026.03.0', '2026.06.0', 'latest', 'stable'])
      expect(needsToken(v), v).toBe(true);
  });
});

describe('docker-compose.yml', () => {
  const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  const lines = compose.split('\n').filter((l) => !l.trim().startsWith('#'));

  it(`pins ${LOCALSTACK_IMAGE}:${DEFAULT_LOCALSTACK_VERSION}, overridable by LOCALSTACK_VERSION`, () => {
    expect(lines.filter((l) => /^\s*image:/.test(l)).map((l) => l.trim())).toEqual([
      `image: ${LOCALSTACK_IMAGE}:\${LOCALSTACK_VERSION:-${DEFAULT_LOCALSTACK_VERSION}}`,
    ]);
  });

  it('requires no variable, so that every command (down included) works without a token', () => {
    // `${X:?msg}` and `${X?msg}` make compose refuse to run when X is unset.
    expect(compose).not.toMatch(/\$\{[A-Za-z_][A-Za-z0-9_]*:?\?/);
    // The token is passed through when set: a key without a value, not an interpolation.
    expect(lines.map((l) => l.trim())).toContain('LOCALSTACK_AUTH_TOKEN:');
  });

  it('labels the Lambda containers LocalStack starts with the label the teardown removes', () => {
    const flags = lines.find((l) => l.trim().startsWith('LAMBDA_DOCKER_FLAGS:'));
    expect(flags).toContain(`-l ${LAMBDA_CONTAINER_LABEL}`);
  });

  it('publishes ports on 127.0.0.1 only and mounts the Docker socket for Lambda', () => {
    const ports = lines.filter((l) => /^\s*- "\d|^\s*- "[0-9.]+:/.test(l));
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(p.trim()).toMatch(/^- "127\.0\.0\.1:/);
    expect(compose).toContain('"/var/run/docker.sock:/var/run/docker.sock"');
  });
});

describe('scripts/test-localstack.mjs', () => {
  const bin = mkdtempSync(join(tmpdir(), 'fanfold-fake-docker-'));
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  /** Runs the script as `npm run test:localstack` does, with `docker` answering as given. */
  function runScript(env: Record<string, string | undefined>, dockerScript?: string, args: string[] = []) {
    let path = process.env.PATH ?? '';
    if (dockerScript !== undefined) {
      writeFileSync(join(bin, 'docker'), dockerScript);
      chmodSync(join(bin, 'docker'), 0o755);
      path = [bin, dirname(process.execPath), path].join(delimiter);
    }
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/test-localstack.mjs', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ...env, PATH: path },
      timeout: 60_000,
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  }

  it('skips when docker info fails, even with a token, and claims nothing', () => {
    const r = runScript(
      { LOCALSTACK_AUTH_TOKEN: 'ls-token' },
      `#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2\nexit 1\n`,
    );
    expect(r.status).toBe(0);
    expect(r.out.trim()).toBe(
      'LocalStack tier SKIPPED: no Docker engine here (docker info failed: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)',
    );
  });

  it('skips when the engine answers but LOCALSTACK_AUTH_TOKEN is not set for a tag that needs one', () => {
    const r = runScript(
      { LOCALSTACK_AUTH_TOKEN: undefined, LOCALSTACK_VERSION: 'latest' },
      '#!/bin/sh\necho 28.0.0\n',
    );
    expect(r.status).toBe(0);
    expect(r.out.trim()).toBe(
      "LocalStack tier SKIPPED: LOCALSTACK_AUTH_TOKEN is not set, and localstack/localstack:latest requires one (4.14.0, the tier's default, does not: unset LOCALSTACK_VERSION)",
    );
  });

  it('--down: compose down --remove-orphans, then removes the Lambda containers by their label', () => {
    const calls = join(bin, 'calls.log');
    const r = runScript(
      { LOCALSTACK_AUTH_TOKEN: undefined },
      [
        '#!/bin/sh',
        `echo "$*" >> '${calls}'`,
        `if [ "$1" = ps ]; then printf 'c0ffee1\\nc0ffee2\\n'; fi`,
        'exit 0',
        '',
      ].join('\n'),
      ['--down'],
    );
    expect(r.status).toBe(0);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      'compose version',
      'compose down --remove-orphans',
      `ps -aq --filter label=${LAMBDA_CONTAINER_LABEL}`,
      'rm -f c0ffee1 c0ffee2',
    ]);
  });

  it('on this machine as it is: skips with one line and exit 0', () => {
    // A tag that needs a token and none given: where Docker runs, it must not start the tier.
    const r = runScript({ LOCALSTACK_AUTH_TOKEN: '', LOCALSTACK_VERSION: 'latest' });
    expect(r.status).toBe(0);
    expect(r.out).toMatch(
      /^LocalStack tier SKIPPED: (no Docker engine here|LOCALSTACK_AUTH_TOKEN is not set)/,
    );
    expect(r.out).not.toMatch(/passed|✓/i);
  });
});
