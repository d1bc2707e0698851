/**
 * The cloud assemblies of the e2e tier's CDK apps (`stack.ts`, `worker-stacks.ts`), each
 * synthesized once into a folder of the temp dir named after the app and the newest mtime of its
 * sources: later runs (and the other test files of a run) reuse it while no source changed.
 * Synthesized into a private folder and renamed into place, so concurrent runs never read a
 * half-written assembly.
 */
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newest, SYNTH_TIMEOUT_MS, synthInto } from './fanfold-assembly.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The stack `stack.ts` defines. */
export const E2E_STACK = 'FanfoldE2e';
export { SYNTH_TIMEOUT_MS };

/** A CDK app of the tier: its file (from the project root) and the stacks it defines. */
export interface E2eApp {
  readonly file: string;
  readonly stacks: readonly string[];
}

/** What every synth reads besides the app: the construct, the functions, the code and the tasks they bundle. */
const SOURCES = [
  'infra',
  'functions',
  'src',
  'test/fixtures',
  'cdk.json',
  'package-lock.json',
  'tsconfig.json',
];
const PREFIX = 'fanfold-e2e-cdk-out-';

/** The folder holding the e2e stack's assembly (`stack.ts`), synthesized unless an up-to-date one exists. */
export function e2eAssembly(): Promise<string> {
  return appAssembly({ file: 'test/e2e/stack.ts', stacks: [E2E_STACK] });
}

/** The folder holding `app`'s assembly, synthesized unless an up-to-date one exists. */
export async function appAssembly(app: E2eApp): Promise<string> {
  const sources = [...SOURCES, app.file];
  const key = Math.floor(Math.max(...sources.map((s) => newest(join(ROOT, s))))).toString(36);
  const prefix = `${PREFIX}${basename(app.file, '.ts')}-`;
  const dir = join(tmpdir(), `${prefix}${key}`);
  if (complete(dir, app)) return dir;
  const work = mkdtempSync(join(tmpdir(), `${PREFIX}tmp-`));
  try {
    await synthInto(work, { app: `node --import tsx ${app.file}`, label: app.stacks.join(', ') });
    try {
      renameSync(work, dir);
    } catch (e) {
      // Another run put the same assembly in place first.
      if (!complete(dir, app)) throw e;
      rmSync(work, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
  removeStale(prefix, dir);
  return dir;
}

function complete(dir: string, app: E2eApp): boolean {
  return (
    existsSync(join(dir, 'manifest.json')) &&
    app.stacks.every((stack) => existsSync(join(dir, `${stack}.template.json`)))
  );
}

/** Assemblies of the same app from older sources, left an hour after they were made (a run may still be using one). */
function removeStale(prefix: string, keep: string): void {
  const hourAgo = Date.now() - 3_600_000;
  for (const entry of readdirSync(tmpdir())) {
    const path = join(tmpdir(), entry);
    if (!entry.startsWith(prefix) || path === keep) continue;
    try {
      if (statSync(path).mtimeMs < hourAgo) rmSync(path, { recursive: true, force: true });
    } catch {
      // Gone already.
    }
  }
}
