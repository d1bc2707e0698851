/**
 * The runner stands apart: its files import only Node's modules, the AWS SDK and each other, never
 * fanfold's code or the rest of its tests, so that it can be read, used and moved as a package of
 * its own. And fanfold's published files never import it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RUNNER = fileURLToPath(new URL('../', import.meta.url));
const ROOT = resolve(RUNNER, '../..');

/** Every .ts and .mjs file under `dir`, skipping `skip` folders. */
function sources(dir: string, skip: readonly string[] = []): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return skip.includes(e.name) ? [] : sources(path, skip);
    return /\.(ts|mjs)$/.test(e.name) ? [path] : [];
  });
}

/** The module specifiers a file imports (static, dynamic and re-exports). */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ];
  return found.map((m) => m[1]!);
}

describe('the runner', () => {
  it('imports only node:, @aws-sdk/ and its own files (its tests may use vitest)', () => {
    const outside: string[] = [];
    // Fixture bundles stand for a user's code, not the runner's.
    for (const file of sources(RUNNER, ['assembly'])) {
      for (const spec of specifiers(file)) {
        const ok = spec.startsWith('.')
          ? resolve(file, '..', spec).startsWith(RUNNER)
          : spec.startsWith('node:') ||
            spec.startsWith('@aws-sdk/') ||
            (spec === 'vitest' && relative(RUNNER, file).startsWith('test'));
        if (!ok) outside.push(`${relative(ROOT, file)}: ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('is never imported by what fanfold ships', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files.some((f) => f === 'test' || f.startsWith('test/'))).toBe(false);
    const importers = pkg.files
      // Built output and the launcher are checked by the import-graph test; `!…` entries exclude.
      .filter((f) => !f.startsWith('!') && !['dist', 'bin'].includes(f) && /^[\w-]+$/.test(f))
      .flatMap((f) => sources(join(ROOT, f)))
      .filter((file) =>
        specifiers(file).some((s) => s.startsWith('.') && resolve(file, '..', s).startsWith(RUNNER)),
      );
    expect(importers.map((f) => relative(ROOT, f))).toEqual([]);
  });
});
