/**
 * The fingerprint of a tasks module: a digest of the module bundled with esbuild (its own code and
 * the packages it imports, fanfold and the AWS SDK excepted), the same way wherever it is made. The `Fanfold`
 * construct makes it when it synthesises the stack, from the file it bundles into the functions,
 * and puts it in the stack's `FanfoldTasksFingerprint` output; the `aws` context makes it from the
 * caller's tasks module at first use and compares (`tasks-check.ts`), so that a `tasks.ts` changed
 * without a redeploy fails at once with `TasksMismatchError` instead of silently running the old
 * code on Lambda.
 *
 * The bundle is minified (no comments, hence no file paths) and built from the module's own folder,
 * so two machines with the same sources and packages make the same fingerprint; a changed task, a
 * changed import or another version of a package it bundles make another. fanfold itself stays
 * out: its version is not the tasks' code (and a checkout need not have built it).
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, OutputFile } from 'esbuild';

/** The stack output that carries the deployed tasks module's fingerprint. */
export const TASKS_FINGERPRINT_OUTPUT = 'FanfoldTasksFingerprint';

/** `sha256:` and 32 hex digits (128 bits). */
export const TASKS_FINGERPRINT_PATTERN = /^sha256:[0-9a-f]{32}$/;

/**
 * The esbuild options of a fingerprint bundle of the module at `path`: one entry, written nowhere.
 * fanfold and the AWS SDK stay out (the construct bundles its own copies; their versions are not the
 * tasks' code).
 */
export function fingerprintBuild(path: string): BuildOptions & { write: false } {
  return {
    entryPoints: [path],
    absWorkingDir: dirname(path),
    bundle: true,
    write: false,
    outfile: 'tasks.mjs',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    sourcemap: false,
    mainFields: ['module', 'main'],
    external: ['fanfold', 'fanfold/*', '@aws-sdk/*', '@smithy/*', 'esbuild'],
    logLevel: 'silent',
  };
}

/** The fingerprint of a fingerprint bundle's output. */
export function fingerprintOf(files: readonly OutputFile[]): string {
  const hash = createHash('sha256');
  for (const f of files) hash.update(f.contents);
  return `sha256:${hash.digest('hex').slice(0, 32)}`;
}

// A name, not a literal: an application that bundles fanfold must not pull esbuild into its file
// (as in src/local/bundle.ts); it is loaded from node_modules, only when a fingerprint is made.
const ESBUILD: string = 'esbuild';

/**
 * The fingerprint of the tasks module at `module` (a `file:` URL or a path), made with the esbuild
 * fanfold depends on. Rejects with esbuild's error when the module does not build.
 *
 * @example
 * ```ts
 * const fingerprint = await tasksFingerprint(new URL('./tasks.ts', import.meta.url));
 * ```
 */
export async function tasksFingerprint(module: string | URL): Promise<string> {
  const path = module instanceof URL || module.startsWith('file:') ? fileURLToPath(module) : module;
  const { build } = (await import(ESBUILD)) as typeof import('esbuild');
  const out = await build(fingerprintBuild(path));
  return fingerprintOf(out.outputFiles);
}
