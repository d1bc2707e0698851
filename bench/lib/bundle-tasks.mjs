// Bundles the benchmark's tasks module for the case scripts and fanfold's workers.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = dirname(dirname(fileURLToPath(import.meta.url)));
const REPO = dirname(BENCH);
const OUT = join(BENCH, '.out');

/**
 * Bundles tasks.ts into .out/tasks.js. The file is rewritten only when its text changes: fanfold
 * caches the worker bundle by the mtime of its inputs, so an untouched file keeps that cache warm.
 */
export async function bundleTasks() {
  mkdirSync(OUT, { recursive: true });
  const esbuild = await import('esbuild');
  const outfile = join(OUT, 'tasks.js');
  const result = await esbuild.build({
    entryPoints: [join(BENCH, 'tasks.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['esbuild'],
    alias: { fanfold: join(REPO, 'dist', 'src', 'index.js') },
    logLevel: 'warning',
    write: false,
  });
  const text = result.outputFiles[0].text;
  if (!existsSync(outfile) || readFileSync(outfile, 'utf8') !== text) writeFileSync(outfile, text);
}
