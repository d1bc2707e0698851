/**
 * The LocalStack tier's decision (plain logic, part of `npm test`) and its skip path: on a machine
 * without a Docker engine or without `LOCALSTACK_AUTH_TOKEN`, `scripts/test-localstack.mjs` says
 * why it skipped, exits 0 and claims no test passed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decide } from './decide.js';

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

  it('skips without LOCALSTACK_AUTH_TOKEN, blank counting as missing', () => {
    const reason = 'LOCALSTACK_AUTH_TOKEN is not set (LocalStack requires one since March 2026)';
    expect(decide({}, { ok: true })).toEqual({ run: false, reason });
    expect(decide({ LOCALSTACK_AUTH_TOKEN: '' }, { ok: true })).toEqual({ run: false, reason });
    expect(decide({ LOCALSTACK_AUTH_TOKEN: '  ' }, { ok: true })).toEqual({ run: false, reason });
  });

  it('runs with an engine and a token', () => {
    expect(decide({ LOCALSTACK_AUTH_TOKEN: 'ls-token' }, { ok: true })).toEqual({ run: true });
  });
});

describe('scripts/test-localstack.mjs', () => {
  const bin = mkdtempSync(join(tmpdir(), 'fanfold-fake-docker-'));
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  /** Runs the script as `npm run test:localstack` does, with `docker` answering as given. */
  function runScript(env: Record<string, string | undefined>, dockerScript?: string) {
    let path = process.env.PATH ?? '';
    if (dockerScript !== undefined) {
      writeFileSync(join(bin, 'docker'), dockerScript);
      chmodSync(join(bin, 'docker'), 0o755);
      path = [bin, dirname(process.execPath), path].join(delimiter);
    }
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/test-localstack.mjs'], {
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

  it('skips when the engine answers but LOCALSTACK_AUTH_TOKEN is not set', () => {
    const r = runScript({ LOCALSTACK_AUTH_TOKEN: undefined }, '#!/bin/sh\necho 28.0.0\n');
    expect(r.status).toBe(0);
    expect(r.out.trim()).toBe(
      'LocalStack tier SKIPPED: LOCALSTACK_AUTH_TOKEN is not set (LocalStack requires one since March 2026)',
    );
  });

  it('on this machine as it is (no token given): skips with one line and exit 0', () => {
    const r = runScript({ LOCALSTACK_AUTH_TOKEN: '' });
    expect(r.status).toBe(0);
    expect(r.out).toMatch(
      /^LocalStack tier SKIPPED: (no Docker engine here|LOCALSTACK_AUTH_TOKEN is not set)/,
    );
    expect(r.out).not.toMatch(/passed|✓/i);
  });
});
