/**
 * Kills the runner's containers if the test process dies without stopping them (SIGKILL, a
 * SIGTERM with no handler). A container notices its parent's death through its IPC channel only
 * while it runs; a frozen one (SIGSTOP) never would. So a small process that is never frozen
 * holds a pipe from the test process, is told each container's pid, and SIGKILLs those still
 * listed when the pipe closes. Closing it on purpose (stop()) makes it exit with nothing to do.
 */
import { type ChildProcess, spawn } from 'node:child_process';

const SOURCE = `
const pids = new Set();
let rest = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (rest + chunk).split('\\n');
  rest = lines.pop();
  for (const line of lines) {
    const pid = Number(line.slice(1));
    if (line[0] === '+') pids.add(pid);
    else pids.delete(pid);
  }
});
process.stdin.on('end', () => {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch {}
  }
  process.exit(0);
});
`;

/** A reaper of processes. */
export interface Reaper {
  /** Lists a process to kill if the test process dies. */
  add(pid: number): void;
  /** Unlists a process (it ended). */
  remove(pid: number): void;
  /** Ends the reaper once the listed processes are gone; it kills any still listed. */
  close(): Promise<void>;
}

/** Starts a reaper; it neither keeps the test process alive nor outlives it. */
export function startReaper(): Reaper {
  const child: ChildProcess = spawn(process.execPath, ['-e', SOURCE], {
    stdio: ['pipe', 'ignore', 'ignore'],
    env: {},
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.unref();
  // The pipe keeps no event loop alive either; the reaper exits when it closes.
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  // The reaper may be gone already (killed with its process group); nothing to do then.
  child.stdin?.on('error', () => {});
  const write = (line: string): void => {
    if (child.stdin?.writable) child.stdin.write(`${line}\n`);
  };
  return {
    add: (pid) => write(`+${pid}`),
    remove: (pid) => write(`-${pid}`),
    async close() {
      child.ref();
      child.stdin?.end();
      await exited;
    },
  };
}
