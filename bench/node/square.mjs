// fanfold: pool.map('square', input) on the local backend.
// usage: square.mjs N auto|CHUNKSIZE range|array [warm] [twice]
//   auto: no chunksize option (fanfold's default, CPython's rule); range: range(0, N); array: a plain array.
//   twice: map a second time on the same pool (map2_ms): the first map also pays for cold, not yet
//   optimised JavaScript on the main thread and in the workers; the second shows the steady state.
import { local, range } from '../../dist/src/index.js';
import tasks from '../.out/tasks.js';
import { emit, fail, ms, now, plainArray, WORKERS, warmFanfold } from './common.mjs';

const [nArg, chunk = 'auto', inputKind = 'range', ...flags] = process.argv.slice(2);
const n = Number(nArg);
const warm = flags.includes('warm');
const twice = flags.includes('twice');
const options = chunk === 'auto' ? {} : { chunksize: Number(chunk) };
// The input is the caller's data: built before the clock starts (CPython's range(N) is lazy).
const input = inputKind === 'range' ? range(0, n) : plainArray(n);

const t0 = now();
const mp = local({ tasks });
const pool = mp.Pool({ processes: WORKERS });
const t1 = now();
if (warm) await warmFanfold(pool);
const t2 = now();
const out = await pool.map('square', input, options);
const t3 = now();
let map2 = null;
if (twice) {
  const again = await pool.map('square', input, options);
  map2 = ms(t3, now());
  if (again.length !== n) fail(`wrong second result: ${again.length} items`);
}
const t3b = now();
await pool.terminate();
const t4 = now();

if (out.length !== n || (n > 0 && out[n - 1] !== (n - 1) ** 2)) {
  fail(`wrong result: ${out.length} items, last ${out[n - 1]}`);
}
emit({
  case: 'square',
  input: inputKind,
  n,
  chunksize: chunk,
  warm,
  construct_ms: ms(t0, t1),
  ready_ms: ms(t1, t2),
  map_ms: ms(t2, t3),
  teardown_ms: ms(t3b, t4),
  total_ms: Math.round((ms(t0, t4) - (twice ? map2 : 0)) * 1000) / 1000,
  items_per_s: Math.round(n / ((t3 - t2) / 1000)),
  ...(twice ? { map2_ms: map2, items_per_s2: Math.round(n / (map2 / 1000)) } : {}),
});
