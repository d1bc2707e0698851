/**
 * A local `Process` runs at most once, as a CPython child does: a process whose thread dies is
 * not started again; it ends with exitCode 1 and the crash as its error.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, local } from '../../src/index.js';
import tasks from '../fixtures/process-tasks.js';

const mp = local({ tasks });

describe('Process', () => {
  describe('a thread that dies', () => {
    it('is not run again: the target ran once, exitCode 1, error set, join returns', async () => {
      const runs = mp.Value('i', 0);
      const p = mp.Process('addThenDie', [runs]);
      await p.start();
      await p.join();
      expect(p.exitCode).toBe(1);
      expect(p.error?.remoteCode).toBe(ErrorCodes.WORKER_CRASHED);
      expect(p.isAlive()).toBe(false);
      expect(await runs.get()).toBe(1);
    });
  });
});
