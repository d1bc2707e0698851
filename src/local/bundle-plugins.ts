/**
 * The esbuild plugins of the bundler (`bundle.ts`): what makes a bundled tasks module or job
 * behave as it did unbundled. `'fanfold'` resolves to this package as it is being run; an
 * `import()` of a package's CommonJS file stays a real `import()`; `import.meta.url` keeps naming
 * each module's own file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';

/** This package as it is being run. */
export interface SelfPackage {
  /** Absolute path of this package's entry as it is being run: `src/index.ts` or `dist/src/index.js`. */
  readonly entry: string;
  readonly version: string;
}

/** Resolves `'fanfold'` to this package's entry as it is being run. */
export function selfPlugin(self: SelfPackage): Plugin {
  return {
    name: 'fanfold-self',
    setup(b) {
      b.onResolve({ filter: /^fanfold$/ }, () =>
        existsSync(self.entry)
          ? { path: self.entry }
          : { errors: [{ text: `fanfold's own entry ${self.entry} does not exist: run \`npm run build\`` }] },
      );
    },
  };
}

/** Marks the plugin's own look-up, so that it does not see itself. */
const OWN_LOOKUP = Symbol('fanfold-dynamic-cjs');

/**
 * Leaves an `import()` of a CommonJS file of a package (under `node_modules`) a real `import()`
 * of that file, for Node to load: a chunk made of a CommonJS module exports only `default` (an
 * esbuild limitation of code splitting), so `const { UpdateItemCommand } = await
 * import('@aws-sdk/client-dynamodb')` would find nothing, where Node's own loader gives the
 * module's named exports too. The file is CommonJS by Node's rule (`.cjs`, or `.js` under a
 * package.json without `"type": "module"`), so Node loads it exactly as an unbundled program would.
 */
export function dynamicCommonJsPlugin(): Plugin {
  return {
    name: 'fanfold-dynamic-cjs',
    setup(b) {
      const types = new Map<string, boolean>();
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.pluginData === OWN_LOOKUP) return undefined;
        const found = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: OWN_LOOKUP,
        });
        if (found.errors.length > 0 || found.external || found.namespace !== 'file') return undefined;
        if (!isPackageCommonJs(found.path, types)) return undefined;
        return { path: pathToFileURL(found.path).href, external: true };
      });
    },
  };
}

/** True for a `.cjs` or `.js` file under `node_modules` that Node loads as CommonJS. */
function isPackageCommonJs(path: string, types: Map<string, boolean>): boolean {
  if (!/[/\\]node_modules[/\\]/.test(path)) return false;
  const ext = extname(path);
  if (ext === '.cjs') return true;
  if (ext !== '.js') return false;
  for (let dir = dirname(path); ; ) {
    let module = types.get(dir);
    if (module === undefined) {
      const pkg = join(dir, 'package.json');
      if (existsSync(pkg)) {
        try {
          module = (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: unknown }).type === 'module';
        } catch {
          module = false; // unreadable: Node would fail on it anyway
        }
        types.set(dir, module);
      }
    }
    if (module !== undefined) return !module;
    const parent = dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

const LOADERS = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.jsx': 'jsx' } as const;

/**
 * Keeps `import.meta.url` (and `.dirname`, `.filename`) of every bundled module pointing at the
 * module's own file, as if it had not been bundled: a job finds its data next to its source, a
 * bundled copy of fanfold finds its worker scripts, a dependency finds its assets, instead of all
 * of them seeing the cache directory the bundle is written to. A plain text substitution: the
 * expression inside a string literal would be replaced too.
 */
export function importMetaPlugin(): Plugin {
  return {
    name: 'fanfold-import-meta',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        if (args.namespace !== 'file') return undefined;
        const source = await readFile(args.path, 'utf8');
        if (!source.includes('import.meta')) return undefined; // esbuild loads it as usual
        const url = pathToFileURL(args.path).href;
        const contents = source.replace(/\bimport\.meta\.(url|dirname|filename)\b/g, (_, prop: string) =>
          JSON.stringify(prop === 'url' ? url : prop === 'dirname' ? dirname(args.path) : args.path),
        );
        const ext = extname(args.path) as keyof typeof LOADERS;
        return { contents, loader: LOADERS[ext] ?? 'js' };
      });
    },
  };
}
