import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, bundleStats } from '../../src/local/bundle.js';
import { threadScript } from '../../src/local/runtime.js';
import tasks from '../fixtures/tasks.js';

interface SidecarShape {
  chunks: { path: string; size: number }[];
}
const readSidecar = (file: string): SidecarShape => JSON.parse(readFileSync(`${file}.json`, 'utf8'));

const importBundle = async (file: string): Promise<Record<string, unknown>> =>
  (await import(/* @vite-ignore */ pathToFileURL(file).href)) as Record<string, unknown>;

/** Touches `file` to a later mtime, so that the cache sees it changed whatever the clock's resolution. */
async function rewrite(file: string, text: string): Promise<void> {
  await writeFile(file, text);
  const later = new Date(Date.now() + 5_000);
  await utimes(file, later, later);
}

describe('bundle()', () => {
  describe('chunks', () => {
    let scratch: string;
    const outputs: string[] = [];

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'fanfold-bundle-chunks-test-'));
    });

    afterAll(async () => {
      await rm(scratch, { recursive: true, force: true });
      // The scratch dir has no node_modules: its bundles went to the OS temp cache.
      for (const f of outputs) {
        for (const c of readSidecar(f).chunks) await rm(c.path, { force: true });
        await rm(f, { force: true });
        await rm(`${f}.json`, { force: true });
      }
    });

    /** A scratch module that imports `./lazy.js` only through `import()`. */
    async function lazyEntry(name: string, value: number) {
      const dir = await mkdtemp(join(scratch, `${name}-`));
      const entry = join(dir, 'entry.ts');
      await writeFile(join(dir, 'lazy.ts'), `export const value = ${value};\n`);
      await writeFile(entry, "export const load = async () => (await import('./lazy.js')).value;\n");
      return {
        dir,
        req: { contents: `export * from ${JSON.stringify(entry)};`, resolveDir: dir, name: 'chunks' },
      };
    }

    it('puts a module reached only through import() in a chunk of its own, loaded on first use', async () => {
      const { req } = await lazyEntry('split', 4101);
      const file = await bundle(req);
      outputs.push(file);

      const { chunks } = readSidecar(file);
      expect(chunks).toHaveLength(1);
      expect(dirname(chunks[0]?.path ?? '')).toBe(join(dirname(file), 'chunks'));
      expect(readFileSync(file, 'utf8')).not.toContain('4101');
      expect(readFileSync(chunks[0]?.path ?? '', 'utf8')).toContain('4101');
      const mod = await importBundle(file);
      expect(await (mod.load as () => Promise<number>)()).toBe(4101);
    });

    it('rebuilds when a chunk of the cached bundle was removed', async () => {
      const { req } = await lazyEntry('removed', 4102);
      const file = await bundle(req);
      outputs.push(file);
      const chunk = readSidecar(file).chunks[0]?.path ?? '';
      await rm(chunk);
      const builds = bundleStats().builds;

      expect(await bundle(req)).toBe(file);

      expect(bundleStats().builds).toBe(builds + 1);
      expect(existsSync(chunk)).toBe(true);
    });

    it("gives an import() of a package's CommonJS file its named exports, as Node does", async () => {
      const dir = await mkdtemp(join(scratch, 'cjs-'));
      const pkg = join(dir, 'node_modules', 'cjs-pkg');
      await mkdir(pkg, { recursive: true });
      await writeFile(join(pkg, 'package.json'), '{ "name": "cjs-pkg", "main": "index.js" }\n');
      await writeFile(join(pkg, 'index.js'), 'exports.answer = 4105;\n');
      const entry = join(dir, 'entry.ts');
      await writeFile(entry, "export const load = async () => (await import('cjs-pkg')).answer;\n");

      // The scratch dir now has node_modules: the bundle goes to its cache, removed with it.
      const file = await bundle({
        contents: `export * from ${JSON.stringify(entry)};`,
        resolveDir: dir,
        name: 'cjs',
      });

      const mod = await importBundle(file);
      expect(await (mod.load as () => Promise<unknown>)()).toBe(4105);
    });

    it('keeps the chunks of an older build, which a thread started from it may still import', async () => {
      const { dir, req } = await lazyEntry('older', 4103);
      const file = await bundle(req);
      outputs.push(file);
      const before = readSidecar(file).chunks[0]?.path ?? '';

      await rewrite(join(dir, 'lazy.ts'), 'export const value = 4104;\n');
      await bundle(req);
      const after = readSidecar(file).chunks[0]?.path ?? '';

      expect(after).not.toBe(before);
      expect(readFileSync(before, 'utf8')).toContain('4103');
      expect(readFileSync(after, 'utf8')).toContain('4104');
      await rm(before, { force: true });
    });
  });

  describe('the thread bundle', () => {
    it("holds the primitives' code in a chunk that only a thread receiving a handle loads", async () => {
      const file = await threadScript(tasks);

      const chunks = readSidecar(file).chunks.map((c) => readFileSync(c.path, 'utf8'));
      const defines = /\bvar reviveLocal\b/;
      expect(readFileSync(file, 'utf8')).not.toMatch(defines);
      expect(chunks.filter((text) => defines.test(text))).toHaveLength(1);
    });
  });
});
