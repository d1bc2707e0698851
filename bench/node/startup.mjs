// Pool start-up: construct -> first result from every worker -> teardown.
// usage: startup.mjs fanfold|piscina
// Each library is imported only when measured, so one's import cost never lands in the other's wall.
import { emit, fail, ms, now, WORKERS, warmFanfold, warmPiscina } from './common.mjs';

const lib = process.argv[2];
const workerFile = new URL('./piscina-worker.mjs', import.meta.url).href;

let make;
if (lib === 'fanfold') {
  const { local } = await import('../../dist/src/index.js');
  const { default: tasks } = await import('../.out/tasks.js');
  make = () => local({ tasks }).Pool({ processes: WORKERS });
} else if (lib === 'piscina') {
  const { default: Piscina } = await import('piscina');
  make = () => new Piscina({ filename: workerFile, minThreads: WORKERS, maxThreads: WORKERS });
} else {
  fail(`unknown lib ${lib}`);
}

const t0 = now();
const pool = make();
const t1 = now();
await (lib === 'fanfold' ? warmFanfold(pool) : warmPiscina(pool));
const t2 = now();
await (lib === 'fanfold' ? pool.terminate() : pool.destroy());
const t3 = now();

emit({
  case: 'startup',
  lib,
  construct_ms: ms(t0, t1),
  first_ms: ms(t1, t2),
  teardown_ms: ms(t2, t3),
  total_ms: ms(t0, t3),
});
