import { readFileSync } from 'node:fs';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ErrorCodes, TasksModuleError } from '../../src/errors.js';
import { bundle, bundleStats } from '../../src/local/bundle.js';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/bundle');
const root = resolve(fixtures, '../../..');

/** An entry that re-exports everything of `file`. */
const entryOf = (file: string, name = 'test') => ({
  contents: `export * from ${JSON.stringify(file)};`,
  resolveDir: dirname(file),
  name,
});

const importBundle = async (file: string): Promise<Record<string, unknown>> =>
  (await import(/* @vite-ignore */ pathToFileURL(file).href)) as Record<string, unknown>;

interface SidecarShape {
  inputs: { path: string; mtimeMs: number; size: number }[];
}
const readSidecar = (file: string): SidecarShape => JSON.parse(readFileSync(`${file}.json`, 'utf8'));

describe('bundle()', () => {
  let scratch: string;
  const outputs: string[] = [];

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'fanfold-bundle-test-'));
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
    // Bundles of the scratch dir went to the OS temp cache under names no later run reuses.
    for (const f of outputs) await rm(f, { force: true }).then(() => rm(`${f}.json`, { force: true }));
  });

  it('bundles a TypeScript module with relative imports and node: builtins into an importable file', async () => {
    const file = await bundle(entryOf(join(fixtures, 'greet.ts')));

    expect(file).toMatch(/[/\\]node_modules[/\\]\.cache[/\\]fanfold[/\\]test-[0-9a-f]{16}\.mjs$/);
    const mod = await importBundle(file);
    expect((mod.greet as (f: string) => string)('/x/world.txt').trim()).toBe('HELLO WORLD.TXT');
    const inputs = readSidecar(file).inputs.map((i) => i.path);
    expect(inputs).toEqual(expect.arrayContaining([join(fixtures, 'greet.ts'), join(fixtures, 'shout.ts')]));
  });

  it('returns the cached path without running esbuild again, in this process and in a fresh one', async () => {
    const req = entryOf(join(fixtures, 'greet.ts'), 'cached');
    const first = await bundle(req);
    const builds = bundleStats().builds;

    expect(await bundle(req)).toBe(first);
    expect(bundleStats().builds).toBe(builds);

    // A fresh copy of the module has an empty memo: only the sidecar on disk can answer.
    vi.resetModules();
    const fresh = await import('../../src/local/bundle.js');
    expect(await fresh.bundle(req)).toBe(first);
    expect(fresh.bundleStats()).toEqual({ builds: 0, cacheHits: 1 });
  });

  it('shares one build between concurrent calls for the same entry', async () => {
    await writeFile(join(scratch, 'concurrent.ts'), 'export const n = 1;\n');
    const before = bundleStats().builds;

    const [a, b] = await Promise.all([
      bundle(entryOf(join(scratch, 'concurrent.ts'))),
      bundle(entryOf(join(scratch, 'concurrent.ts'))),
    ]);
    outputs.push(a);

    expect(a).toBe(b);
    expect(bundleStats().builds).toBe(before + 1);
  });

  it('rebuilds when an input file is touched', async () => {
    const entry = join(scratch, 'entry.ts');
    const dep = join(scratch, 'dep.ts');
    await writeFile(dep, 'export const value = 1;\n');
    await writeFile(entry, "export { value } from './dep.js';\n");
    const first = await bundle(entryOf(entry));
    outputs.push(first);
    const builds = bundleStats().builds;

    await writeFile(dep, 'export const value = 2;\n');
    const later = new Date(Date.now() + 5_000);
    await utimes(dep, later, later);
    const second = await bundle(entryOf(entry));

    expect(second).toBe(first);
    expect(bundleStats().builds).toBe(builds + 1);
    expect(readFileSync(second, 'utf8')).toContain('value = 2');
  });

  it('rejects with a TasksModuleError naming the file and line of a syntax error', async () => {
    const broken = join(scratch, 'broken.ts');
    await writeFile(broken, 'export const ok = 1;\nexport const bad = (;\n');

    const error = await bundle(entryOf(broken)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TasksModuleError);
    expect((error as TasksModuleError).code).toBe(ErrorCodes.TASKS_MODULE);
    expect((error as Error).message).toMatch(/broken\.ts:2:\d+/);
  });

  it('rejects with a TasksModuleError naming a missing module', async () => {
    const importer = join(scratch, 'importer.ts');
    await writeFile(importer, "export { nothing } from './does-not-exist.js';\n");

    const error = await bundle(entryOf(importer)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TasksModuleError);
    expect((error as Error).message).toContain('does-not-exist.js');
    expect((error as Error).message).toMatch(/importer\.ts:1:\d+/);
  });

  it("keeps each module's import.meta.url pointing at its own file, not at the bundle", async () => {
    const where = join(fixtures, 'where.ts');
    const file = await bundle(entryOf(where));

    const mod = await importBundle(file);
    expect(mod.url).toBe(pathToFileURL(where).href);
    expect(mod.file).toBe(where);
  });

  it("resolves 'fanfold' to this package's own sources", async () => {
    const file = await bundle({
      contents: `export { default } from ${JSON.stringify(join(fixtures, 'uses-fanfold.ts'))};`,
      resolveDir: fixtures,
      name: 'self',
    });

    const tasks = (await importBundle(file)).default as { names: string[]; tasks: Record<string, unknown> };
    expect(tasks.names).toEqual(['double']);
    expect((tasks.tasks.double as (n: number) => number)(21)).toBe(42);
    const inputs = readSidecar(file).inputs.map((i) => i.path);
    expect(inputs).toContain(join(root, 'src', 'api', 'tasks.ts'));
  });
});
