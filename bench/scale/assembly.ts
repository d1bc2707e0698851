/**
 * The scale stack's cloud assembly (`stack.ts`), synthesized into a folder of the temp dir named
 * after the newest mtime of its sources, and reused while none changed (as the e2e tier's).
 */
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newest, synthInto } from '../../test/e2e/fanfold-assembly.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The stack `stack.ts` defines. */
export const SCALE_STACK = 'FanfoldScale';
const SOURCES = [
  'infra',
  'functions',
  'src',
  'test/fixtures',
  'bench/scale/stack.ts',
  'cdk.json',
  'package-lock.json',
];

/** The folder holding the scale stack's assembly, synthesized unless an up-to-date one exists. */
export async function scaleAssembly(): Promise<string> {
  const key = Math.floor(Math.max(...SOURCES.map((s) => newest(join(ROOT, s))))).toString(36);
  const dir = join(tmpdir(), `fanfold-scale-cdk-out-${key}`);
  if (existsSync(join(dir, `${SCALE_STACK}.template.json`))) return dir;
  const work = mkdtempSync(join(tmpdir(), 'fanfold-scale-cdk-out-tmp-'));
  try {
    await synthInto(work, { app: 'node --import tsx bench/scale/stack.ts', label: SCALE_STACK });
    renameSync(work, dir);
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    if (!existsSync(join(dir, `${SCALE_STACK}.template.json`))) throw e;
  }
  return dir;
}
