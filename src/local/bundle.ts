/**
 * Bundles a virtual entry module (a tasks module for the worker threads, a job for the CLI) into
 * one ESM entry file with esbuild, and caches the result on disk so that a second start with
 * unchanged sources does not even load esbuild. Modules reached only through `import()` go to
 * chunks of their own, loaded on first use: a thread pays for parsing the primitives' code and
 * decoding its source map only once it receives a handle (see `local/thread-entry.ts`). The
 * plugins that keep a bundle behaving as the code did unbundled are in `bundle-plugins.ts`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message, OutputFile } from 'esbuild';
import { TasksModuleError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { dynamicCommonJsPlugin, importMetaPlugin, type SelfPackage, selfPlugin } from './bundle-plugins.js';
import { optionalPeersPlugin } from './optional-peers.js';

/** What to bundle. */
export interface BundleRequest {
  /** Source text of a virtual entry module, resolved from `resolveDir`. */
  readonly contents: string;
  /** Directory the entry's imports are resolved from. */
  readonly resolveDir: string;
  /** Short name used in the output file name, e.g. `'thread'` or `'job'`. */
  readonly name: string;
}

/** Counters of {@link bundle} in this process. */
export interface BundleStats {
  /** How many times esbuild was run. */
  readonly builds: number;
  /** How many calls were answered from the on-disk or in-process cache. */
  readonly cacheHits: number;
}

/** One input file of a bundle, as recorded in the sidecar next to it. */
interface InputStamp {
  readonly path: string;
  readonly mtimeMs: number;
  readonly size: number;
}

/** One chunk the entry imports, as recorded in the sidecar. */
interface ChunkStamp {
  readonly path: string;
  readonly size: number;
}

/** The sidecar `<output>.json`: what the bundle was built from, and the chunks it needs. */
interface Sidecar {
  readonly version: 1;
  readonly outputSize: number;
  readonly chunks: readonly ChunkStamp[];
  readonly inputs: readonly InputStamp[];
}

/** Bumped whenever the way bundles are built changes, so that older cached bundles are not reused. */
const FORMAT = 4;
const stats = { builds: 0, cacheHits: 0 };
/** Bundles already checked in this process, by output path: saves re-reading the sidecar. */
const memo = new Map<string, Sidecar>();
/** Builds in flight, by output path: concurrent calls for the same entry share one build. */
const inflight = new Map<string, Promise<string>>();

/**
 * Bundles the entry with esbuild into one ESM entry file (plus chunks for what it reaches only
 * through `import()`, under `chunks/` next to it) and returns the entry's absolute path. An
 * `import()` of a package's CommonJS file is left to Node (see `dynamicCommonJsPlugin`).
 *
 * The bare specifier `'fanfold'` resolves to this package's own entry as it is being run (its
 * TypeScript sources under a test runner, `dist/src/` when built). The result is cached under
 * `node_modules/.cache/fanfold/` (or the OS temp dir) and reused, without starting esbuild, while
 * every input file keeps its mtime and size.
 *
 * @throws {TasksModuleError} when esbuild reports errors (a missing module, a syntax error); the
 *   message carries esbuild's `file:line:column` diagnostics.
 * @example
 * ```ts
 * const file = await bundle({
 *   contents: `export { default } from ${JSON.stringify('/app/tasks.ts')};`,
 *   resolveDir: '/app',
 *   name: 'thread',
 * });
 * const { default: tasks } = await import(pathToFileURL(file).href);
 * ```
 */
export async function bundle(req: BundleRequest): Promise<string> {
  if (!isAbsolute(req.resolveDir)) {
    throw new TasksModuleError(`Expected resolveDir to be an absolute path, got "${req.resolveDir}"`);
  }
  if (!/^[\w.-]+$/.test(req.name)) {
    throw new TasksModuleError(`Expected name to match /^[\\w.-]+$/, got "${req.name}"`);
  }
  const self = selfPackage();
  const hash = createHash('sha256')
    .update(`${FORMAT}\0${req.contents}\0${req.resolveDir}\0${self.version}\0${self.entry}`)
    .digest('hex')
    .slice(0, 16);
  const outfile = join(cacheDirFor(req.resolveDir), `${req.name}-${hash}.mjs`);

  const known = memo.get(outfile);
  if (known && isFresh(outfile, known)) return hit(outfile);
  const pending = inflight.get(outfile);
  if (pending) return pending;

  const job = (async () => {
    const sidecar = await readSidecar(outfile);
    if (sidecar && isFresh(outfile, sidecar)) {
      memo.set(outfile, sidecar);
      return hit(outfile);
    }
    const built = await build(req, outfile, self);
    memo.set(outfile, built);
    return outfile;
  })();
  inflight.set(outfile, job);
  try {
    return await job;
  } finally {
    inflight.delete(outfile);
  }
}

/**
 * Counters of {@link bundle} in this process (tests use them to tell a rebuild from a cache hit).
 *
 * @example
 * ```ts
 * const before = bundleStats().builds;
 * await bundle(req);
 * console.log(bundleStats().builds - before); // 0 when the cache answered
 * ```
 */
export function bundleStats(): BundleStats {
  return { ...stats };
}

function hit(outfile: string): string {
  stats.cacheHits++;
  return outfile;
}

/** True when the output and its chunks exist with the recorded sizes and every input is unchanged. */
function isFresh(outfile: string, sidecar: Sidecar): boolean {
  try {
    if (statSync(outfile).size !== sidecar.outputSize) return false;
    for (const chunk of sidecar.chunks) if (statSync(chunk.path).size !== chunk.size) return false;
    for (const input of sidecar.inputs) {
      const s = statSync(input.path);
      if (s.mtimeMs !== input.mtimeMs || s.size !== input.size) return false;
    }
    return true;
  } catch {
    return false; // a file was removed
  }
}

async function readSidecar(outfile: string): Promise<Sidecar | undefined> {
  try {
    const parsed = JSON.parse(await readFile(`${outfile}.json`, 'utf8')) as Partial<Sidecar>;
    if (
      parsed.version !== 1 ||
      typeof parsed.outputSize !== 'number' ||
      !Array.isArray(parsed.chunks) ||
      !Array.isArray(parsed.inputs)
    ) {
      return undefined;
    }
    return parsed as Sidecar;
  } catch {
    return undefined; // missing or torn: rebuild
  }
}

// Spelled in pieces: the import.meta plugin (bundle-plugins.ts) rewrites that expression wherever it appears in
// fanfold's own files, and it must survive in the banner of a bundle made by a bundled fanfold.
const META_URL = ['import', 'meta', 'url'].join('.');
// Defines `require`, `__filename` and `__dirname` for bundled CommonJS dependencies. esbuild
// renames user bindings with these names, so the banner never collides with them.
const BANNER = [
  "import { createRequire as __fanfoldCreateRequire } from 'node:module';",
  "import { fileURLToPath as __fanfoldFileURLToPath } from 'node:url';",
  "import { dirname as __fanfoldDirname } from 'node:path';",
  `const require = __fanfoldCreateRequire(${META_URL});`,
  `const __filename = __fanfoldFileURLToPath(${META_URL});`,
  'const __dirname = __fanfoldDirname(__filename);',
].join('\n');

// A name, not a literal: an application bundling fanfold must not pull esbuild (which cannot run
// bundled) into its file; it is loaded only where fanfold bundles at run time, from node_modules.
const ESBUILD: string = 'esbuild';

async function build(req: BundleRequest, outfile: string, self: SelfPackage): Promise<Sidecar> {
  const dir = dirname(outfile);
  const { build: esbuild, formatMessages } = (await import(ESBUILD)) as typeof import('esbuild');
  stats.builds++;
  let result: { metafile: { inputs: Record<string, unknown> }; outputFiles: OutputFile[] };
  try {
    result = await esbuild({
      stdin: {
        contents: req.contents,
        resolveDir: req.resolveDir,
        sourcefile: `<${req.name}>`,
        loader: 'ts',
      },
      absWorkingDir: req.resolveDir,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      // What the entry reaches only through import() (the primitives, in a thread) becomes a
      // chunk loaded on first use, with its own inline source map: Node parses a file's code and
      // decodes its map when the file loads, whether or not the code ever runs.
      splitting: true,
      outdir: dir,
      entryNames: basename(outfile, '.mjs'),
      chunkNames: 'chunks/[name]-[hash]',
      outExtension: { '.js': '.mjs' },
      write: false,
      metafile: true,
      logLevel: 'silent',
      external: ['esbuild'],
      banner: { js: BANNER },
      plugins: [selfPlugin(self), optionalPeersPlugin(), dynamicCommonJsPlugin(), importMetaPlugin()],
    });
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (!Array.isArray(errors) || errors.length === 0) {
      throw new TasksModuleError(`esbuild failed to bundle ${req.name}: ${String(e)}`, e);
    }
    const text = await formatMessages(errors, { kind: 'error', color: false });
    throw new TasksModuleError(`Could not bundle ${req.name}:\n${text.join('').trimEnd()}`, e);
  }

  const inputs: InputStamp[] = [];
  for (const key of Object.keys(result.metafile.inputs)) {
    if (key === `<${req.name}>` || key.startsWith('<')) continue; // the virtual entry
    const path = resolve(req.resolveDir, key.replace(/^file:/, ''));
    const s = statSync(path, { throwIfNoEntry: false });
    if (s) inputs.push({ path, mtimeMs: s.mtimeMs, size: s.size });
  }
  const entry = result.outputFiles.find((f) => f.path === outfile);
  if (!entry) throw new TasksModuleError(`esbuild did not write ${outfile} for ${req.name}`);
  const chunks = result.outputFiles.filter((f) => f !== entry);
  const sidecar: Sidecar = {
    version: 1,
    outputSize: entry.contents.byteLength,
    chunks: chunks.map((c) => ({ path: c.path, size: c.contents.byteLength })),
    inputs,
  };
  await mkdir(dir, { recursive: true });
  // Every file is written under a unique name and renamed into place once complete: several
  // processes may bundle the same entry at once, and none may ever import a half-written file.
  // Chunks first: they are named by their content hash, so publishing one again is harmless and
  // one is never replaced by other code; nor removed, since a thread started from an older entry
  // may still import its chunks. Then the entry, then the sidecar that vouches for it: a reader
  // that finds a sidecar also finds its bundle (the recorded sizes catch the rare interleaving of
  // two writers).
  for (const chunk of chunks) {
    if (statSync(chunk.path, { throwIfNoEntry: false })?.size === chunk.contents.byteLength) continue;
    await mkdir(dirname(chunk.path), { recursive: true });
    await publish(chunk.path, chunk.contents);
  }
  await publish(outfile, entry.contents);
  await publish(`${outfile}.json`, JSON.stringify(sidecar));
  return sidecar;
}

/** Writes `path` under a unique temporary name, then renames it into place. */
async function publish(path: string, contents: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, contents);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

let selfCache: SelfPackage | undefined;

/** This package as it is being run, found from this file's own location. */
function selfPackage(): SelfPackage {
  if (selfCache) return selfCache;
  // This file is <root>/src/local/bundle.ts or <root>/dist/src/local/bundle.js: the entry is
  // src/index.ts or dist/src/index.js, one folder up.
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const ts = join(dir, 'index.ts');
  const entry = existsSync(ts) ? ts : join(dir, 'index.js');
  // Without a manifest above us (fanfold bundled into an app) the hash only misses the version.
  const found = { entry, version: packageRoot(import.meta.url)?.version ?? '0.0.0' };
  // Only cache once the entry exists, so that a missing entry is looked for again next time.
  if (existsSync(entry)) selfCache = found;
  return found;
}

/** `<nearest ancestor with node_modules>/node_modules/.cache/fanfold`, else the OS temp dir. */
function cacheDirFor(resolveDir: string): string {
  let dir = resolveDir;
  for (;;) {
    if (existsSync(join(dir, 'node_modules'))) return join(dir, 'node_modules', '.cache', 'fanfold');
    const parent = dirname(dir);
    if (parent === dir) return join(tmpdir(), 'fanfold-cache');
    dir = parent;
  }
}
