/**
 * `bin/fanfold.js` in a clone whose dist/ is not built (before `npm run build`, or after
 * `rm -rf dist`): it runs the TypeScript source through tsx and says so, instead of failing.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
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

  it('asks for `npm run build` where tsx is not installed either', async () => {
    const clone = cloneWithoutDist(['src']);
    const err = await run(process.execPath, [join(clone, 'bin/fanfold.js'), '--version'], {
      cwd: clone,
      timeout: 60_000,
    }).catch((e: unknown) => e as { code: number; stderr: string });
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain('run `npm run build` first');
  });
});
