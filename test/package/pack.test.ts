/**
 * What `npm pack` ships: the built entry points with their types, the CLI, and what the `Fanfold`
 * construct needs to synthesise in a user's project (its compiled module, the function entries
 * and the sources they bundle); never the tests, the bench, the examples or fixtures.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { AWS_SDK_PACKAGES } from '../../src/aws/sdk.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const FUNCTIONS = ['coordinator', 'worker', 'dlq', 'sweeper'];

interface Manifest {
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  files: string[];
}
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as Manifest;

let packed: Set<string>;

beforeAll(async () => {
  // An up-to-date dist/ makes this a no-op (tsc -b); a fresh clone gets it from `npm ci`'s prepare.
  await run(npm, ['run', 'build'], { cwd: ROOT, timeout: 180_000 });
  const { stdout } = await run(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    timeout: 60_000,
  });
  const [report] = JSON.parse(stdout) as [{ files: { path: string }[] }];
  packed = new Set(report.files.map((f) => f.path));
}, 240_000);

const TASKS = { '@fanfold/tasks': './examples/wordfreq.tasks.ts' };

/** What an entry imports, file by file, as esbuild sees it (packages left out, not followed). */
async function inputs(entry: string, alias: Record<string, string> = {}) {
  const r = await build({
    entryPoints: [entry],
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    packages: 'external',
    alias,
    logLevel: 'silent',
  });
  return r.metafile.inputs;
}

/** Relative paths of the files an entry reaches through relative imports. */
async function reached(entry: string, alias: Record<string, string> = {}): Promise<string[]> {
  return Object.keys(await inputs(entry, alias));
}

describe('npm pack', () => {
  it('ships only the package: dist, bin, functions, src, the manifest and its documents', () => {
    const allowed = /^(dist\/|bin\/|functions\/|src\/|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/;
    expect([...packed].filter((f) => !allowed.test(f))).toEqual([]);
    const forbidden =
      /(^|\/)(test|tests|bench|examples|fixtures|scripts|cdk\.out|node_modules)\/|\.test\.|\.tsbuildinfo$/;
    expect([...packed].filter((f) => forbidden.test(f))).toEqual([]);
    for (const doc of ['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json']) expect(packed).toContain(doc);
  });

  it('ships every entry point with its types, and the command', () => {
    const targets = [pkg.main, pkg.types, ...Object.values(pkg.bin)];
    for (const target of Object.values(pkg.exports)) {
      targets.push(...(typeof target === 'string' ? [target] : Object.values(target)));
    }
    const missing = targets.map((t) => t.replace(/^\.\//, '')).filter((t) => !packed.has(t));
    expect(missing).toEqual([]);
    expect(Object.values(pkg.exports).filter((t) => typeof t !== 'string' && !t.types && !t.default)).toEqual(
      [],
    );
  });

  it('ships every module the entry points import', async () => {
    for (const target of Object.values(pkg.exports)) {
      if (typeof target === 'string' || !target.default?.endsWith('.js')) continue;
      const files = await reached(target.default);
      expect(
        files.filter((f) => !packed.has(f)),
        target.default,
      ).toEqual([]);
    }
  });

  it('ships what the Fanfold construct bundles into each function in a user project', async () => {
    for (const fn of FUNCTIONS) {
      const files = await reached(`functions/${fn}.ts`, TASKS);
      const own = files.filter((f) => !f.startsWith('examples/'));
      expect(own).toContain(`functions/${fn}.ts`);
      expect(
        own.filter((f) => !packed.has(f)),
        fn,
      ).toEqual([]);
    }
  });

  it('leaves out the AWS SDK, which the construct finds among the peer dependencies it checks for', async () => {
    expect([...packed].filter((f) => f.includes('@aws-sdk'))).toEqual([]);
    const imported = new Set<string>();
    for (const fn of FUNCTIONS) {
      const r = await inputs(`functions/${fn}.ts`, TASKS);
      for (const input of Object.values(r))
        for (const i of input.imports) if (i.path.startsWith('@aws-sdk/')) imported.add(i.path);
    }
    // checkBundlingDependencies (infra/bundling.ts) checks AWS_SDK_PACKAGES before bundling.
    expect([...imported].filter((p) => !(AWS_SDK_PACKAGES as readonly string[]).includes(p))).toEqual([]);
  });
});
