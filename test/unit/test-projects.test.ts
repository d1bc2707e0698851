/**
 * Every test file belongs to a project that `npm test` runs: a file outside every project's
 * `include` would pass silently by never running (test/package/ did, until this test).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import config from '../../vitest.config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The projects `npm test` names, read from package.json's test script (`--project <name>`). */
const NPM_TEST = [
  ...(
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { test: string } }
  ).scripts.test.matchAll(/--project (\S+)/g),
].map((m) => m[1] ?? '');

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'fixtures' ? [] : testFiles(path);
    return e.name.endsWith('.test.ts') ? [relative(ROOT, path)] : [];
  });
}

/** The include patterns of the named inline projects. */
function includes(): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  for (const p of config.test?.projects ?? []) {
    if (typeof p !== 'object' || p === null || !('test' in p)) continue;
    const t = (p as { test?: { name?: unknown; include?: string[] } }).test;
    if (typeof t?.name === 'string' && t.include) out.set(t.name, t.include);
  }
  return out;
}

/** The two pattern forms the config uses: `dir/**\/*.test.ts` and a file's path. */
function matches(pattern: string, file: string): boolean {
  const dir = pattern.endsWith('/**/*.test.ts') ? pattern.slice(0, -'**/*.test.ts'.length) : undefined;
  return dir === undefined ? pattern === file : file.startsWith(dir);
}

describe('vitest projects', () => {
  it('use only the pattern forms this test understands', () => {
    for (const patterns of includes().values())
      for (const p of patterns) expect(p.endsWith('/**/*.test.ts') || !p.includes('*')).toBe(true);
  });

  it('put every test file in a project that npm test runs', () => {
    const projects = includes();
    expect(NPM_TEST).toEqual(expect.arrayContaining(['unit', 'local', 'cloud', 'runner']));
    expect([...projects.keys()]).toEqual(expect.arrayContaining(NPM_TEST));
    const patterns = NPM_TEST.flatMap((name) => projects.get(name) ?? []);
    const orphans = testFiles(join(ROOT, 'test')).filter((f) => !patterns.some((p) => matches(p, f)));
    expect(orphans).toEqual([]);
  });
});
