/**
 * The AWS SDK is an optional peer dependency: a local-only program never loads it, and the aws()
 * context tells a user without it exactly what to install.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bundlingPath, checkBundlingDependencies, functionsDir } from '../../infra/bundling.js';
import pkg from '../../package.json' with { type: 'json' };
import { AWS_SDK_PACKAGES, loadSdk, missingSdkPackage } from '../../src/aws/sdk.js';
import { ErrorCodes, MissingDependencyError } from '../../src/errors.js';
import { bundle } from '../../src/local/bundle.js';

const run = promisify(execFile);
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

describe('the AWS SDK as an optional peer dependency', () => {
  it('is a peer dependency marked optional, not a dependency, and lists every client fanfold imports', () => {
    const deps: Record<string, string> = pkg.dependencies;
    const peers: Record<string, string> = pkg.peerDependencies;
    const meta: Record<string, { optional?: boolean }> = pkg.peerDependenciesMeta;
    expect(Object.keys(deps).filter((d) => d.startsWith('@aws-sdk/'))).toEqual([]);
    expect(Object.keys(peers).filter((d) => d.startsWith('@aws-sdk/'))).toEqual([...AWS_SDK_PACKAGES]);
    for (const name of AWS_SDK_PACKAGES) expect(meta[name]?.optional, name).toBe(true);
  });

  describe('loadSdk()', () => {
    it('turns a missing @aws-sdk package into MissingDependencyError naming every client to install', async () => {
      const missing = '@aws-sdk/client-that-does-not-exist';
      const err = await loadSdk(() => import(missing)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MissingDependencyError);
      expect(err).toMatchObject({
        code: ErrorCodes.MISSING_DEPENDENCY,
        packages: AWS_SDK_PACKAGES,
        missing,
      });
      expect((err as Error).message).toContain(`npm install ${AWS_SDK_PACKAGES.join(' ')}`);
      expect((err as Error).cause).toBeInstanceOf(Error);
    });

    it('rethrows any other failure unchanged', async () => {
      const other = new RangeError('not about a package');
      await expect(loadSdk(() => Promise.reject(other))).rejects.toBe(other);
      const notSdk = await import('a-package-that-does-not-exist' as string).catch((e: unknown) => e);
      expect(missingSdkPackage(notSdk)).toBeUndefined();
      await expect(loadSdk(() => Promise.reject(notSdk))).rejects.toBe(notSdk);
    });
  });

  it('a thread bundle leaves an @aws-sdk import that does not resolve to Node: it fails only where it is reached', async () => {
    // As in fanfold: the AWS code reached only through import(), importing the SDK statically.
    const dir = mkdtempSync(join(tmpdir(), 'fanfold-no-sdk-bundle-'));
    try {
      const sdkModule = JSON.stringify(fileURLToPath(new URL('../../src/aws/sdk.ts', import.meta.url)));
      writeFileSync(
        join(dir, 'aws-part.ts'),
        `import { NotInstalledClient } from '@aws-sdk/client-not-installed';\nexport const make = () => new NotInstalledClient();\n`,
      );
      const file = await bundle({
        contents: [
          `import { loadSdk } from ${sdkModule};`,
          `export const ok = 42;`,
          `export const load = () => loadSdk(() => import('./aws-part.ts'));`,
        ].join('\n'),
        resolveDir: dir,
        name: 'sdk-optional',
      });
      const mod = (await import(pathToFileURL(file).href)) as { ok: number; load: () => Promise<unknown> };
      expect(mod.ok).toBe(42);
      await expect(mod.load()).rejects.toMatchObject({
        code: ErrorCodes.MISSING_DEPENDENCY,
        missing: '@aws-sdk/client-not-installed',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a local pool runs without the SDK and never asks for it; aws() pools and primitives fail with MissingDependencyError', async () => {
    // no-aws-sdk.mjs resolves every @aws-sdk/* import from an empty folder and logs the attempt.
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', '--import', './no-aws-sdk.mjs', 'without-sdk.ts'],
      { cwd: fixtures, timeout: 60_000 },
    );
    const seen = JSON.parse(stdout) as Record<string, unknown>;
    expect(seen.local).toEqual([1, 4, 9]);
    const lines = stderr.split('\n');
    const localDone = lines.indexOf('local-done');
    expect(localDone).toBeGreaterThanOrEqual(0);
    expect(lines.slice(0, localDone).filter((l) => l.startsWith('sdk-resolve'))).toEqual([]);
    for (const what of ['pool', 'value']) {
      expect(seen[what], what).toMatchObject({
        code: ErrorCodes.MISSING_DEPENDENCY,
        packages: [...AWS_SDK_PACKAGES],
        missing: expect.stringMatching(/^@aws-sdk\/client-/),
      });
    }
  });

  it("bundlingPath() puts the folder of fanfold's own esbuild command before the PATH it is given", () => {
    // NodejsFunction runs `pnpm exec esbuild` or `npx --no-install esbuild`, which look on PATH too.
    const [first, ...rest] = bundlingPath(functionsDir(), ['/usr/bin', '/bin'].join(delimiter)).split(
      delimiter,
    );
    expect(rest).toEqual(['/usr/bin', '/bin']);
    const esbuild = join(first ?? '', 'esbuild');
    expect(() => accessSync(esbuild, constants.X_OK)).not.toThrow();
    expect(realpathSync(esbuild)).toContain(`${sep}esbuild${sep}`);
  });

  describe('checkBundlingDependencies() (the Fanfold construct, before it bundles its functions)', () => {
    it('passes where the clients resolve from functions/, as esbuild will resolve them', () => {
      expect(() => checkBundlingDependencies(functionsDir())).not.toThrow();
    });

    it('throws MissingDependencyError naming the missing client and every one to install', () => {
      const packages = ['@aws-sdk/client-dynamodb', '@aws-sdk/client-that-does-not-exist'];
      let err: unknown;
      try {
        checkBundlingDependencies(functionsDir(), packages);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({
        code: ErrorCodes.MISSING_DEPENDENCY,
        packages,
        missing: '@aws-sdk/client-that-does-not-exist',
      });
    });
  });
});
