/**
 * The primitives examples (examples/primitives) on the local context: each runs as a user would run
 * it (`node --import tsx examples/primitives/<name>.ts`, no FANFOLD_STACK) and prints what CPython's
 * example prints.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function runExample(name: string): Promise<string[]> {
  const env = { ...process.env };
  delete env.FANFOLD_STACK;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', `examples/primitives/${name}.ts`],
    { cwd: ROOT, env, timeout: 60_000 },
  );
  return stdout.trim().split('\n');
}

describe('examples/primitives on the local context', () => {
  it('process-name: the worker prints the name given to its Process', async () => {
    expect(await runExample('process-name')).toEqual([
      'hello bob, from process worker-1',
      'worker-1 exited with 0',
    ]);
  });

  it('pipe: the parent receives the message the child sent', async () => {
    expect(await runExample('pipe')).toEqual(["[ 42, null, 'hello' ]"]);
  });

  it('pool-map: squares in input order', async () => {
    expect(await runExample('pool-map')).toEqual(['[ 1, 4, 9 ]']);
  });

  it('shared-value: the child increments the Value the parent reads', async () => {
    expect(await runExample('shared-value')).toEqual(['counter = 10']);
  });

  it('lock: two processes print one whole line each under the Lock', async () => {
    const lines = await runExample('lock');
    expect(lines.slice(0, 2).sort()).toEqual(['hello world 0', 'hello world 1']);
    expect(lines[2]).toBe('exit codes: 0, 0');
  });
});
