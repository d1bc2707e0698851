/**
 * `bin/fanfold.js` in a clone whose dist/ is not built (before `npm run build`, or after
 * `rm -rf dist`): it runs the TypeScript source through tsx and says so, instead of failing. And
 * `npx fanfold` in a clone before `npm install`: npx runs the package's prepare script, which must
 * not fail there (see scripts/prepare.mjs).
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A copy of the package's launcher with no dist/, beside the given links into this checkout. */
function cloneWithoutDist(links: string[]): string {
  dir = mkdtempSync(join(tmpdir(), 'fanfold-bin-'));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(ROOT, 'bin/fanfold.js'), join(dir, 'bin/fanfold.js'));
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  for (const l of links) symlinkSync(join(ROOT, l), join(dir, l));
  return dir;
}

describe('bin/fanfold.js without dist/', () => {
  it('runs the source through tsx and says so on stderr', async () => {
    const clone = cloneWithoutDist(['src', 'node_modules']);
    const { stdout, stderr } = await run(process.execPath, [join(clone, 'bin/fanfold.js'), '--version'], {
      cwd: clone,
      timeout: 60_000,
    });
    expect(stdout.trim()).toBe(version);
    expect(stderr).toContain('dist/ is not built; running the TypeScript source through tsx');
  });

  it('asks for `npm install` where tsx is not installed either', async () => {
    const clone = cloneWithoutDist(['src']);
    const err = await run(process.execPath, [join(clone, 'bin/fanfold.js'), '--version'], {
      cwd: clone,
      timeout: 60_000,
    }).catch((e: unknown) => e as { code: number; stderr: string });
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain('run `npm install` (it builds dist/) first');
  });
});

describe('npx fanfold in a clone before npm install', () => {
  it('runs the launcher, which says what to do, where prepare cannot build (no TypeScript)', async () => {
    const clone = cloneWithoutDist([]);
    mkdirSync(join(clone, 'scripts'));
    copyFileSync(join(ROOT, 'scripts/prepare.mjs'), join(clone, 'scripts/prepare.mjs'));
    // The manifest's bin and prepare as they are, without dependencies (so npx installs nothing from
    // the registry); npx's cache in the folder, so that the half-made entry of a failed prepare
    // cannot outlive the test.
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown> & {
      scripts: Record<string, string>;
    };
    const manifest = {
      name: pkg.name,
      version,
      type: pkg.type,
      bin: pkg.bin,
      scripts: { prepare: pkg.scripts.prepare },
    };
    writeFileSync(join(clone, 'package.json'), JSON.stringify(manifest));
    const npm = process.platform === 'win32' ? 'npx.cmd' : 'npx';
    const err = await run(npm, ['--yes', 'fanfold', '--version'], {
      cwd: clone,
      env: { ...process.env, npm_config_cache: join(clone, '.npm'), npm_config_update_notifier: 'false' },
      timeout: 120_000,
    }).catch((e: unknown) => e as { code: number; stderr: string });
    // Exit code 1 and the launcher's advice (npm keeps prepare's own output to itself); a failing
    // prepare made it 127, with npm's report of the failed prepare instead of advice.
    expect(err).toMatchObject({ code: 1 });
    const { stderr } = err as { stderr: string };
    expect(stderr).not.toContain('prepare');
    expect(stderr).toContain('run `npm install` (it builds dist/) first');
  }, 180_000);
});
