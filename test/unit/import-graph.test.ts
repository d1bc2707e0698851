/**
 * The import graph of fanfold, held to its rules.
 *
 * 1. The layers (the rule table below, the same as each `src/` folder's README): the engine sees
 *    only the foundation at the top of `src/`; the API no adapter; the AWS side nothing of the
 *    local context; nothing but the CLI entry reaches `src/cli/`. Every `import`, `import type`,
 *    `export … from` and `import()` counts, so a type cannot smuggle a layer in either.
 * 2. Importing fanfold stays cheap for programs that only use the local context: the AWS SDK
 *    (about 0.3 s to parse at start) is loaded on first use of `aws()`, never by a static import.
 *    bench/RESULTS.md §0 measures the import.
 * 3. The worker Lambda's bundle carries no code of the local context.
 * 4. Each folder of `src/` says in its README what it may import, as the table does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * What each part of the repository may import (besides packages and `node:` modules). `src` is the
 * foundation at the top of `src/` (errors, validation, the ports, the handle wire format, the task
 * map and the small helpers every layer shares); `src/index.ts` is the public face, `src/worker.ts`
 * the face of `fanfold/worker`.
 */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  src: ['src'],
  'src/engine': ['src', 'src/engine'],
  'src/views': ['src', 'src/views'],
  'src/api': ['src', 'src/engine', 'src/api', 'src/views'],
  'src/threads': ['src', 'src/engine', 'src/api', 'src/threads'],
  'src/local': ['src', 'src/engine', 'src/api', 'src/threads', 'src/local'],
  'src/aws': ['src', 'src/engine', 'src/api', 'src/threads', 'src/aws', 'src/views'],
  'src/cli': ['src', 'src/api', 'src/local', 'src/aws', 'src/cli', 'src/views'],
  'src/index.ts': ['src', 'src/engine', 'src/api', 'src/local', 'src/aws', 'src/views'],
  'src/worker.ts': ['src/local'],
  functions: ['src/aws'],
  infra: ['src', 'src/aws', 'infra'],
};

/** The part of the repository a file belongs to: its top folder under `src/`, or its root folder. */
function partOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'src') return parts[0]!;
  if (parts.length === 2) return ['src/index.ts', 'src/worker.ts'].includes(file) ? file : 'src';
  return `src/${parts[1]}`;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => `${dir}/${f.split('\\').join('/')}`);
}

/** `dir` and every folder below it. */
function foldersUnder(dir: string): string[] {
  const below = readdirSync(join(root, dir), { withFileTypes: true }).filter((d) => d.isDirectory());
  return [dir, ...below.flatMap((d) => foldersUnder(`${dir}/${d.name}`))];
}

/** Every relative import of every file of `src/`, `functions/` and `infra/`, resolved to a repository path. */
function imports(): { from: string; to: string }[] {
  const out: { from: string; to: string }[] = [];
  for (const from of ['src', 'functions', 'infra'].flatMap(sourceFiles)) {
    const text = readFileSync(join(root, from), 'utf8');
    for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const to = relative(root, resolve(dirname(join(root, from)), fileName))
        .split('\\')
        .join('/');
      out.push({ from, to: to.replace(/\.js$/, '.ts') });
    }
  }
  return out;
}

/** An esbuild bundle of `entry` in memory, with its metafile. */
function bundle(entry: string, extra: Pick<BuildOptions, 'alias'> = {}) {
  return build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    outdir: 'out',
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
    external: ['esbuild'],
    ...extra,
  });
}

/** Every module reachable from `entry` through static `import` statements only. */
function staticClosure(meta: Metafile, entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of meta.inputs[file]?.imports ?? []) {
      if (imp.kind === 'import-statement' && !imp.path.startsWith('node:')) todo.push(imp.path);
    }
  }
  return seen;
}

describe('the import graph of fanfold', () => {
  it('keeps every layer to what it may import', () => {
    const all = imports();
    expect(all.length).toBeGreaterThan(300);
    const broken = all
      .filter(({ from, to }) => {
        const allowed = MAY_IMPORT[partOf(from)];
        return allowed === undefined || !allowed.includes(partOf(to));
      })
      .map(
        ({ from, to }) =>
          `${from} imports ${to} (${partOf(from)} may import ${MAY_IMPORT[partOf(from)]?.join(', ')})`,
      );
    expect(broken).toEqual([]);
  });

  it('knows every part of the repository that imports', () => {
    const parts = new Set(imports().map(({ from }) => partOf(from)));
    expect([...parts].filter((p) => !(p in MAY_IMPORT))).toEqual([]);
    // The rules are not vacuous: each part named imports something.
    expect([...parts].sort()).toEqual(Object.keys(MAY_IMPORT).sort());
  });

  it("says in each folder's README under src/ what the folder may import, as the table does", () => {
    const folders = foldersUnder('src');
    expect(folders.length).toBeGreaterThan(8);
    const said = folders.map((dir) => {
      const text = readFileSync(join(root, dir, 'README.md'), 'utf8');
      const line = /^May import: (.*)$/m.exec(text)?.[1] ?? '';
      // `as src/aws/ (src, …)` in a subfolder; `src, src/engine (why)` in a layer's own folder.
      const list = line.startsWith('as ')
        ? line.slice(line.indexOf('(') + 1, line.lastIndexOf(')'))
        : line.split(' (')[0];
      return { dir, may: list?.split(', ') };
    });
    expect(said).toEqual(folders.map((dir) => ({ dir, may: MAY_IMPORT[partOf(`${dir}/x.ts`)] })));
  });

  it('reaches no AWS SDK module through static imports (it loads on first use of aws())', async () => {
    const out = await bundle('src/index.ts');
    const closure = [...staticClosure(out.metafile, 'src/index.ts')];
    expect(closure.length).toBeGreaterThan(10);
    expect(closure.filter((f) => f.includes('@aws-sdk') || f.includes('@smithy'))).toEqual([]);
    // The SDK is still reachable, through the dynamic import of aws/connect.ts.
    expect(Object.keys(out.metafile.inputs).some((f) => f.includes('@aws-sdk/client-lambda'))).toBe(true);
  });

  it('bundles no module of the local context into the worker Lambda', async () => {
    // As the construct bundles it: the tasks module aliased in, and it imports 'fanfold'.
    const out = await bundle('functions/worker.ts', {
      alias: { '@fanfold/tasks': join(root, 'test/fixtures/tasks.ts'), fanfold: join(root, 'src/index.ts') },
    });
    const bundled = Object.values(out.metafile.outputs).flatMap((o) =>
      Object.entries(o.inputs)
        .filter(([, i]) => i.bytesInOutput > 0)
        .map(([f]) => f),
    );
    expect(bundled).toContain('src/threads/serve-tasks.ts');
    expect(bundled.filter((f) => f.startsWith('src/local/'))).toEqual([]);
  });
});
