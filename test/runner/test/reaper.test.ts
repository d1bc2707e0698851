/**
 * A test process killed with SIGKILL leaves no container behind, even a frozen one.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { eventually } from './support.js';

const ORPHAN = fileURLToPath(new URL('./fixtures/orphan.ts', import.meta.url));

/** The process's state letter from /proc (R, S, T for stopped, Z), or undefined once it is gone. */
function state(pid: number): string | undefined {
  try {
    return /^\d+ \(.*\) (\w)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

describe('reaper', () => {
  it('kills the containers of a test process that died without stopping them', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', ORPHAN], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
        parent.once('exit', (code) => reject(new Error(`the orphan script exited (${code})`)));
      });
      // Frozen between invocations, as Lambda freezes an idle environment.
      await eventually(async () => (state(pid) === 'T' ? true : undefined), `container ${pid} to be frozen`);
      parent.kill('SIGKILL');
      await eventually(async () => {
        const s = state(pid);
        return s === undefined || s === 'Z' ? true : undefined;
      }, `container ${pid} to be killed`);
      expect(state(pid) ?? 'gone').toMatch(/^(gone|Z)$/);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
