// Per-task overhead on tiny tasks (`noop`), warm pools of 2 threads: fanfold against raw piscina.
// usage: overhead.mjs fanfold-apply|fanfold-map|piscina N burst|seq
//   burst: N calls submitted at once (fanfold-map: one map over N items with chunksize 1);
//   seq: N calls one after another, each awaited (round-trip latency).
// Each library is imported only when measured, so one's import cost never lands in the other's wall.
import { emit, fail, ms, now, plainArray, WORKERS, warmFanfold, warmPiscina } from './common.mjs';

const [lib, nArg, shape] = process.argv.slice(2);
const n = Number(nArg);
const items = plainArray(n);
const workerFile = new URL('./piscina-worker.mjs', import.meta.url).href;

let pool;
let call;
if (lib === 'piscina') {
  const { default: Piscina } = await import('piscina');
  pool = new Piscina({ filename: workerFile, minThreads: WORKERS, maxThreads: WORKERS });
  await warmPiscina(pool);
  call = (x) => pool.run(x, { name: 'noop' });
} else if (lib === 'fanfold-apply' || lib === 'fanfold-map') {
  const { local } = await import('../../dist/src/index.js');
  const { default: tasks } = await import('../.out/tasks.js');
  pool = local({ tasks }).Pool({ processes: WORKERS });
  await warmFanfold(pool);
  call = (x) => pool.apply('noop', [x]);
} else {
  fail(`unknown lib ${lib}`);
}

let out;
const t0 = now();
if (shape === 'burst') {
  out =
    lib === 'fanfold-map'
      ? await pool.map('noop', items, { chunksize: 1 })
      : await Promise.all(items.map(call));
} else if (shape === 'seq' && lib !== 'fanfold-map') {
  out = [];
  for (const x of items) out.push(await call(x));
} else {
  fail(`unknown shape ${shape} for ${lib}`);
}
const t1 = now();
await (lib === 'piscina' ? pool.destroy() : pool.terminate());

if (out.length !== n || out[n - 1] !== n - 1) fail(`wrong result: ${out.length} items`);
emit({
  case: 'overhead',
  lib,
  shape,
  n,
  run_ms: ms(t0, t1),
  us_per_task: Math.round(((t1 - t0) * 1000 * 100) / n) / 100,
  tasks_per_s: Math.round(n / ((t1 - t0) / 1000)),
});
