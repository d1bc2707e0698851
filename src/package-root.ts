/**
 * Where the fanfold package this code runs from lives: the folder of its `package.json`. The code
 * runs from three depths (`src/` under a test runner or tsx, `dist/src/` and `dist/infra/` once
 * built), so every file that needs the package's own files (its version, its entry, `functions/`)
 * walks up from its own location instead of counting `..`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What {@link packageRoot} reads of the manifest it finds. */
export interface PackageRoot {
  /** Absolute path of the folder that holds fanfold's `package.json`. */
  readonly dir: string;
  /** The `version` field, or `'0.0.0'` when it is missing. */
  readonly version: string;
}

/**
 * The nearest folder at or above `from` (a file URL or path inside the package) whose
 * `package.json` is named `fanfold`, or `undefined` when there is none (fanfold bundled into an
 * application's own file).
 *
 * @example
 * ```ts
 * const root = packageRoot(import.meta.url); // { dir: '/app/node_modules/fanfold', version: '0.1.0' }
 * ```
 */
export function packageRoot(from: string | URL): PackageRoot | undefined {
  let dir = dirname(from instanceof URL || from.startsWith('file:') ? fileURLToPath(from) : from);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'fanfold') {
          return { dir, version: typeof pkg.version === 'string' ? pkg.version : '0.0.0' };
        }
      } catch {
        // An unreadable manifest is not ours: keep looking above it.
      }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
