// CPU-bound work: 64 items, serially on the main thread or on a fanfold pool of 2 threads.
// usage: cpu.mjs serial|fanfold int P|sha R   (the same work as bench/py/cpu.py)
// fanfold: construct, wait until every worker has answered (ready), map (the work alone), terminate.
import { local } from '../../dist/src/index.js';
import tasks from '../.out/tasks.js';
import { emit, fail, ms, now, WORKERS, warmFanfold } from './common.mjs';

const ITEMS = 64;
const [mode, work, paramArg] = process.argv.slice(2);
const param = Number(paramArg);
const name = { int: 'spin', sha: 'sha' }[work] ?? fail(`unknown work ${work}`);
const items = Array(ITEMS).fill(param);

let t1;
let tr;
let t2;
let out;
const t0 = now();
if (mode === 'serial') {
  const fn = tasks.tasks[name];
  t1 = tr = now(); // nothing to construct
  out = items.map((x) => fn(x));
  t2 = now();
} else if (mode === 'fanfold') {
  const pool = local({ tasks }).Pool({ processes: WORKERS });
  t1 = now();
  await warmFanfold(pool);
  tr = now();
  out = await pool.map(name, items);
  t2 = now();
  await pool.terminate();
} else {
  fail(`unknown mode ${mode}`);
}
const t3 = now();

if (out.length !== ITEMS || new Set(out).size !== 1) fail('wrong result');
emit({
  case: 'cpu',
  mode,
  work,
  param,
  result: out[0],
  construct_ms: ms(t0, t1),
  ready_ms: ms(t1, tr),
  map_ms: ms(tr, t2),
  teardown_ms: ms(t2, t3),
  total_ms: ms(t0, t3),
});
