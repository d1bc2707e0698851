/**
 * A user's new project on this machine, for the tests that install fanfold as a user does: the
 * package packed as `npm publish` would ship it, an empty folder, and commands run there in a
 * shell that knows nothing of this checkout (no `node_modules/.bin` of ours on `PATH`, no `npm_*`
 * variables of the `npm test` that started vitest).
 *
 * The registry is the only network the installs use. Each package a command installs is pinned to
 * the version this checkout has installed, so a run needs no newer release than the last one and
 * npm's and pnpm's caches answer most requests (`prefer-offline`); on a fresh machine they fill once.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Builds dist/ (a no-op when it is up to date) and packs the package; returns the tarball's path. */
export async function packFanfold(): Promise<string> {
  await exec(npm, ['run', 'build'], { cwd: ROOT, timeout: 300_000 });
  const dest = mkdtempSync(join(tmpdir(), 'fanfold-tarball-'));
  const { stdout } = await exec(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], {
    cwd: ROOT,
    timeout: 120_000,
  });
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  return join(dest, filename);
}

/** What a command printed, and how it ended. */
export interface CommandResult {
  readonly code: number;
  readonly output: string;
}

/** A new, empty project folder and the shell its commands run in. */
export class NewProject {
  readonly dir: string;
  readonly #env: NodeJS.ProcessEnv;

  constructor(
    readonly tarball: string,
    name: string,
  ) {
    const base = mkdtempSync(join(tmpdir(), `fanfold-${name}-`));
    this.dir = join(base, 'my-app');
    mkdirSync(this.dir);
    // pnpm as a user has it: a `pnpm` command on PATH (here the one this checkout installed).
    const bin = join(base, 'bin');
    mkdirSync(bin);
    symlinkSync(join(ROOT, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs'), join(bin, 'pnpm'));
    const path = (process.env.PATH ?? '')
      .split(delimiter)
      .filter((p) => p && !p.includes('node_modules/.bin'));
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
    this.#env = {
      ...env,
      // The node running the tests first: CI runs the suite on several versions.
      PATH: [dirname(process.execPath), bin, ...path].join(delimiter),
      npm_config_prefer_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      CDK_DISABLE_VERSION_CHECK: 'true',
    };
  }

  /**
   * Runs one line of a shell in the project. An install (`npm install`, `pnpm add`) gets the
   * tarball for `fanfold` and this checkout's version of every other package it names.
   */
  async run(line: string, timeoutMs = 600_000): Promise<CommandResult> {
    const command = this.pin(line);
    try {
      const { stdout, stderr } = await exec('bash', ['-c', `${command} 2>&1`], {
        cwd: this.dir,
        env: this.#env,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, output: stdout + stderr };
    } catch (e) {
      const err = e as { code?: unknown; stdout?: string; stderr?: string; killed?: boolean };
      if (typeof err.code !== 'number') throw e;
      return { code: err.code, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
    }
  }

  /** `line` with its installed packages pinned (see {@link NewProject.run}). */
  pin(line: string): string {
    const words = line.split(/\s+/);
    const install = /^(npm (install|i)|pnpm add)$/.test(words.slice(0, 2).join(' '));
    if (!install) return line;
    return words
      .map((w, i) => {
        if (i < 2 || w.startsWith('-')) return w;
        if (w === 'fanfold') return this.tarball;
        return `${w}@${installedVersion(w)}`;
      })
      .join(' ');
  }

  /** The text of a file of the project. */
  read(path: string): string {
    return readFileSync(join(this.dir, path), 'utf8');
  }

  exists(path: string): boolean {
    return existsSync(join(this.dir, path));
  }
}

/** The version of `name` installed in this checkout (the tests pin a new project's installs to it). */
export function installedVersion(name: string): string {
  const manifest = join(ROOT, 'node_modules', name, 'package.json');
  if (!existsSync(manifest)) throw new Error(`${name} is not installed in this checkout: cannot pin it`);
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}
