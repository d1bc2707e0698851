// Pool start-up: construct -> first result from every worker -> teardown.
// usage: startup.mjs fanfold|piscina
import Piscina from 'piscina';
import { local } from '../../dist/index.js';
import tasks from '../.out/tasks.js';
import { emit, fail, ms, now, WORKERS, warmFanfold, warmPiscina } from './common.mjs';

const lib = process.argv[2];
const workerFile = new URL('./piscina-worker.mjs', import.meta.url).href;

const t0 = now();
let pool;
if (lib === 'fanfold') pool = local({ tasks }).Pool({ processes: WORKERS });
else if (lib === 'piscina')
  pool = new Piscina({ filename: workerFile, minThreads: WORKERS, maxThreads: WORKERS });
else fail(`unknown lib ${lib}`);
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
