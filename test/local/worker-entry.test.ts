/**
 * `fanfold/worker`: an application that uses the local context and is bundled with esbuild (fanfold
 * inside its file, none of fanfold's own files beside it) runs its pools and processes on threads
 * started from its own thread entry, `local({ tasks, worker })`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, local } from '../../src/index.js';
import { serveTasks } from '../../src/worker.js';
import appTasks from '../fixtures/bundled-app/tasks.js';
import tasks from '../fixtures/tasks.js';

const run = promisify(execFile);
const src = (f: string) => fileURLToPath(new URL(`../../src/${f}`, import.meta.url));
const app = fileURLToPath(new URL('../fixtures/bundled-app/', import.meta.url));

let out: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'fanfold-bundled-app-'));
  // As an application bundles itself: two entry points, the package resolved into the files.
  await build({
    entryPoints: [join(app, 'app.ts'), join(app, 'worker.ts')],
    outdir: out,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    alias: { fanfold: src('index.ts'), 'fanfold/worker': src('worker.ts') },
    logLevel: 'silent',
  });
}, 60_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('a bundled application', () => {
  it('carries fanfold inside its two files, and nothing of it beside them', () => {
    expect(readdirSync(out).sort()).toEqual(['app.mjs', 'worker.mjs']);
  });

  it('runs a pool and a process on threads started from its worker entry', async () => {
    const { stdout } = await run(process.execPath, [join(out, 'app.mjs')], { cwd: out, timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({
      squares: [0, 1, 4, 9, 16, 25],
      total: 328_350,
      exitCode: 0,
      module: pathToFileURL(join(out, 'app.mjs')).href,
    });
  });

  it('without local({ worker }), fails with TasksModuleError naming the option and the entry', async () => {
    const err = await run(process.execPath, [join(out, 'app.mjs'), 'no-worker'], {
      cwd: out,
      timeout: 60_000,
    }).catch((e: unknown) => e as { code: number; stderr: string });
    expect(err).toMatchObject({ code: 1 });
    const { stderr } = err as { stderr: string };
    expect(stderr).toContain(ErrorCodes.TASKS_MODULE);
    expect(stderr).toContain('local({ tasks, worker })');
    expect(stderr).toContain("'fanfold/worker'");
  });
});

describe('local({ worker })', () => {
  it('rejects a relative path, a non-file URL and a file that does not exist, naming options.worker', () => {
    for (const worker of ['worker.mjs', new URL('https://example.com/worker.mjs'), 42]) {
      expect(() => local({ tasks, worker: worker as string })).toThrow(
        expect.objectContaining({
          code: ErrorCodes.INVALID_ARGUMENT,
          message: expect.stringContaining('Expected options.worker to be a file URL or an absolute path'),
        }),
      );
    }
    const missing = join(tmpdir(), 'fanfold-no-such-worker.mjs');
    expect(() => local({ tasks, worker: missing })).toThrow(
      expect.objectContaining({
        code: ErrorCodes.INVALID_ARGUMENT,
        message: expect.stringContaining('Expected options.worker to name an existing file'),
      }),
    );
  });

  it('serveTasks() refuses to run on the main thread: the file is a thread entry, not a program', () => {
    expect(() => serveTasks(tasks)).toThrow(expect.objectContaining({ code: ErrorCodes.TASKS_MODULE }));
  });

  it('takes an absolute path as well as a file URL', async () => {
    // The bundled worker serves the same tasks as the module the test imports unbundled.
    await using pool = local({ tasks: appTasks, worker: join(out, 'worker.mjs') }).Pool({ processes: 1 });
    expect(await pool.map('square', [1, 2, 3])).toEqual([1, 4, 9]);
  });
});
