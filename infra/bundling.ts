/**
 * How the `Fanfold` construct finds and bundles its functions in the project that synthesises it:
 * the `functions/` folder of the fanfold package, the banner its ESM bundles need, and a check that
 * the packages esbuild must bundle into them resolve from there, so that a missing one is one typed
 * error naming what to install instead of an esbuild failure per function.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AWS_SDK_PACKAGES } from '../src/aws/sdk.js';
import { MissingDependencyError } from '../src/errors.js';

/** The `require` that CommonJS dependencies call inside an ESM bundle. */
export const REQUIRE_BANNER =
  "import { createRequire as __fanfoldCreateRequire } from 'node:module'; const require = __fanfoldCreateRequire(import.meta.url);";

/** `functions/` of the fanfold package, from this file in `infra/` or in `dist/cdk/infra/`. */
export function functionsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'fanfold')
      return join(dir, 'functions');
    const up = dirname(dir);
    if (up === dir)
      throw new Error(`fanfold's package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/**
 * Throws {@link MissingDependencyError} unless every one of `packages` resolves from `dir` the way
 * esbuild resolves the functions' imports. The functions bundle the AWS SDK clients (they are
 * optional peer dependencies of fanfold, so a project that deploys the construct installs them).
 *
 * @example
 * ```ts
 * checkBundlingDependencies(functionsDir()); // before any NodejsFunction is made
 * ```
 */
export function checkBundlingDependencies(dir: string, packages: readonly string[] = AWS_SDK_PACKAGES): void {
  const resolveFrom = createRequire(join(dir, 'package.json'));
  for (const name of packages) {
    try {
      resolveFrom.resolve(name);
    } catch (e) {
      throw new MissingDependencyError('The Fanfold construct (bundling its functions)', packages, name, {
        cause: e,
      });
    }
  }
}
