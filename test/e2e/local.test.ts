/** The Pool scenarios (pool-scenarios.ts) on the local context: worker threads of this process. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { local } from 'fanfold';
import type { LocalRuntime } from '../../src/local/runtime.js';
import tasks from '../fixtures/pool-tasks.js';
import { Leaving, leavingLocalPool } from './gone-caller.js';
import { describePoolScenarios } from './pool-scenarios.js';

/** Counts the reads and writes of the runtime's blob store (every side of a local pool shares it). */
function countBlobTraffic(rt: LocalRuntime, traffic: { puts: number; gets: number }): void {
  const blobs = rt.backend.blobs;
  const put = blobs.put.bind(blobs);
  const get = blobs.get.bind(blobs);
  blobs.put = (key, bytes) => {
    traffic.puts++;
    return put(key, bytes);
  };
  blobs.get = (key) => {
    traffic.gets++;
    return get(key);
  };
}

describePoolScenarios('Pool scenarios on the local context', async () => {
  const runtimes: LocalRuntime[] = [];
  const traffic = { puts: 0, gets: 0 };
  const mp = local(
    { tasks },
    {
      onRuntime: (rt) => {
        runtimes.push(rt);
        countBlobTraffic(rt, traffic);
      },
    },
  );
  return {
    blobTraffic: () => ({ ...traffic }),
    pool: () => mp.Pool({ processes: 2 }),
    Event: () => mp.Event(),
    async linesSource(name, text) {
      const dir = await mkdtemp(join(tmpdir(), 'fanfold-e2e-'));
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
    goneCaller() {
      // Its jobs run on the threads of a pool of its own, which dispose() terminates too.
      const host = mp.Pool({ processes: 2 });
      const leaving = new Leaving();
      const pool = leavingLocalPool(runtimes.at(-1)!, leaving);
      return {
        pool,
        attacher: host,
        leave: () => leaving.leave(),
        async dispose() {
          leaving.end();
          await pool.terminate();
          await host.terminate();
        },
      };
    },
    async stop() {},
  };
});
