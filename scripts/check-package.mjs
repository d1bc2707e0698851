#!/usr/bin/env node
/**
 * `npm run check:package`: packs the package once, as `npm publish` would (prepack builds a clean
 * dist/), and lints the tarball with publint (package.json fields, exports, files) and
 * @arethetypeswrong/cli (the types each entry point resolves to, under Node's ESM resolution and
 * bundlers). fanfold is ESM-only, so attw's `esm-only` profile leaves out CommonJS `require`.
 * Exits non-zero on any finding.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const dir = mkdtempSync(join(tmpdir(), 'fanfold-pack-'));
try {
  const out = execFileSync(npm, ['pack', '--json', '--pack-destination', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [{ filename }] = JSON.parse(out);
  const tarball = join(dir, filename);
  execFileSync(npx, ['publint', 'run', '--strict', tarball], { stdio: 'inherit' });
  execFileSync(npx, ['attw', tarball, '--profile', 'esm-only'], { stdio: 'inherit' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
