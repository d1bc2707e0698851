/**
 * How the `Fanfold` construct finds and bundles its functions in the project that synthesises it:
 * the `functions/` folder of the fanfold package, the banner its ESM bundles need, and a check that
 * the packages esbuild must bundle into them resolve from there, so that a missing one is one typed
 * error naming what to install instead of an esbuild failure per function.
 */
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { AWS_SDK_PACKAGES } from '../src/aws/sdk.js';
import { fingerprintBuild, fingerprintOf } from '../src/aws/tasks-fingerprint.js';
import { InvalidArgumentError, MissingDependencyError } from '../src/errors.js';
import { packageRoot } from '../src/package-root.js';

/** The `require` that CommonJS dependencies call inside an ESM bundle. */
export const REQUIRE_BANNER =
  "import { createRequire as __fanfoldCreateRequire } from 'node:module'; const require = __fanfoldCreateRequire(import.meta.url);";

/** `functions/` of the fanfold package, from this file in `infra/` or in `dist/infra/`. */
export function functionsDir(): string {
  const root = packageRoot(import.meta.url);
  if (!root) throw new Error(`fanfold's package.json not found above ${fileURLToPath(import.meta.url)}`);
  return join(root.dir, 'functions');
}

/**
 * The `PATH` the construct's functions are bundled with: the folder of the esbuild command that
 * fanfold itself depends on, before `path`. `NodejsFunction` runs esbuild through the project's
 * package manager (`pnpm exec esbuild`, `npx --no-install esbuild`) or from `PATH`, so it only
 * finds a command linked into the project's own `node_modules/.bin`. Under pnpm esbuild is
 * fanfold's dependency, not the project's, and is linked nowhere there (`Command "esbuild" not
 * found`); each of those runners also looks on `PATH`, where this puts fanfold's own esbuild.
 *
 * @example
 * ```ts
 * new NodejsFunction(scope, 'Fn', { entry, bundling: { environment: { PATH: bundlingPath(functionsDir()) } } });
 * ```
 */
export function bundlingPath(dir: string, path: string = process.env.PATH ?? ''): string {
  let bin: string;
  try {
    bin = join(dirname(createRequire(join(dir, 'package.json')).resolve('esbuild/package.json')), 'bin');
  } catch {
    // esbuild is a dependency of fanfold: only a broken install lacks it, and NodejsFunction then
    // says which command it could not run.
    return path;
  }
  return path ? `${bin}${delimiter}${path}` : bin;
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

/**
 * The fingerprint of the tasks module at `path` (`src/aws/tasks-fingerprint.ts`), made with the
 * same esbuild options as the `aws` context makes its own, synchronously (a construct is made
 * synchronously). A module that does not build is reported as the prop's fault.
 *
 * @example
 * ```ts
 * const fingerprint = fingerprintTasks('/app/tasks.ts'); // 'sha256:…'
 * ```
 */
export function fingerprintTasks(path: string): string {
  try {
    return fingerprintOf(buildSync(fingerprintBuild(path)).outputFiles);
  } catch (e) {
    throw new InvalidArgumentError(
      `props.tasks: esbuild could not bundle ${path}: ${(e as Error).message.split('\n')[0]}`,
      { cause: e },
    );
  }
}
