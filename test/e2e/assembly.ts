/**
 * The e2e stack's cloud assembly (`stack.ts`), synthesized once into a folder of the temp dir named
 * after the newest mtime of its sources: later runs (and the other test files of a run) reuse it
 * while no source changed. Synthesized into a private folder and renamed into place, so concurrent
 * runs never read a half-written assembly.
 */
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newest, SYNTH_TIMEOUT_MS, synthInto } from './fanfold-assembly.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The stack `stack.ts` defines. */
export const E2E_STACK = 'FanfoldE2e';
export { SYNTH_TIMEOUT_MS };

/** What the synth reads: the app, the construct, the functions, the code and the tasks they bundle. */
const SOURCES = [
  'infra',
  'functions',
  'src',
  'test/fixtures',
  'test/e2e/stack.ts',
  'cdk.json',
  'package-lock.json',
  'tsconfig.json',
];
const PREFIX = 'fanfold-e2e-cdk-out-';

/** The folder holding the e2e stack's assembly, synthesized unless an up-to-date one exists. */
export async function e2eAssembly(): Promise<string> {
  const key = Math.floor(Math.max(...SOURCES.map((s) => newest(join(ROOT, s))))).toString(36);
  const dir = join(tmpdir(), `${PREFIX}${key}`);
  if (complete(dir)) return dir;
  const work = mkdtempSync(join(tmpdir(), `${PREFIX}tmp-`));
  try {
    await synthInto(work, { app: 'node --import tsx test/e2e/stack.ts', label: E2E_STACK });
    try {
      renameSync(work, dir);
    } catch (e) {
      // Another run put the same assembly in place first.
      if (!complete(dir)) throw e;
      rmSync(work, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
  removeStale(dir);
  return dir;
}

function complete(dir: string): boolean {
  return existsSync(join(dir, 'manifest.json')) && existsSync(join(dir, `${E2E_STACK}.template.json`));
}

/** Assemblies of older sources, left an hour after they were made (a run may still be using one). */
function removeStale(keep: string): void {
  const hourAgo = Date.now() - 3_600_000;
  for (const entry of readdirSync(tmpdir())) {
    const path = join(tmpdir(), entry);
    if (!entry.startsWith(PREFIX) || path === keep) continue;
    try {
      if (statSync(path).mtimeMs < hourAgo) rmSync(path, { recursive: true, force: true });
    } catch {
      // Gone already.
    }
  }
}
