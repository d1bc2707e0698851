/**
 * The real `Fanfold` stack's cloud assembly for the runner: `FANFOLD_CDK_OUT` if set; else the
 * project's `cdk.out/` when it is newer than every source it is built from; else a fresh
 * `cdk synth` into a temp folder (about 8 s; the project's `cdk.out/` is never written here, since
 * other runs may be reading it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** What `cdk synth` reads: the app, the construct, the functions and the code they bundle. */
const SOURCES = ['infra', 'functions', 'src', 'examples', 'cdk.json', 'package-lock.json'];
/** The stack `infra/app.ts` defines. */
export const FANFOLD_STACK = 'Fanfold';
/** A cold synth (CDK import, three esbuild bundles), with room for a busy machine. */
export const SYNTH_TIMEOUT_MS = 180_000;

/** A cloud assembly holding the Fanfold stack; `dispose()` removes it if it was made here. */
export interface FanfoldAssembly {
  readonly dir: string;
  /** How the assembly was found: `env`, `project` (a fresh `cdk.out/`) or `synth`. */
  readonly source: 'env' | 'project' | 'synth';
  dispose(): void;
}

/** Finds or synthesizes the Fanfold stack's cloud assembly. */
export async function fanfoldAssembly(): Promise<FanfoldAssembly> {
  const fromEnv = process.env.FANFOLD_CDK_OUT;
  if (fromEnv) return { dir: fromEnv, source: 'env', dispose() {} };
  const project = join(ROOT, 'cdk.out');
  const template = join(project, `${FANFOLD_STACK}.template.json`);
  if (existsSync(template) && existsSync(join(project, 'manifest.json'))) {
    const built = statSync(template).mtimeMs;
    if (SOURCES.every((s) => newest(join(ROOT, s)) < built))
      return { dir: project, source: 'project', dispose() {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'fanfold-cdk-out-'));
  try {
    await synthInto(dir);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, source: 'synth', dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The newest modification time under `path` (0 if it does not exist). */
export function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    max = Math.max(max, newest(join(path, entry)));
  }
  return max;
}

/**
 * Runs `cdk synth` from the project root into `outdir`: the app of cdk.json, or `app`. Killed with
 * its process group after {@link SYNTH_TIMEOUT_MS}; a failure carries the last output.
 */
export function synthInto(
  outdir: string,
  options: { readonly app?: string; readonly label?: string } = {},
): Promise<void> {
  const app = options.app ? ['--app', options.app] : [];
  const what = options.label ? `cdk synth of ${options.label}` : 'cdk synth';
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['cdk', 'synth', '--quiet', ...app, '--output', outdir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that a timeout ends the app and esbuild under npx too.
      detached: true,
    });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, SYNTH_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cdk synth could not start: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${what} failed (${code ?? signal}):\n${output}`));
    });
  });
}
