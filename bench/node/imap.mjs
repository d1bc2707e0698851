// fanfold: how soon `pool.imap('square', range(0, N))` yields its first result on a warm pool.
// usage: imap.mjs N ROUNDS
//   Each round starts one imap on the same warm pool, times its first result (first_ms: from the call
//   to the first `next()` resolving) and then reads the rest (all_ms). The first round of the process
//   also runs the imap path's code cold; later rounds show the steady state (first_ms_median).
import { local, range } from '../../dist/src/index.js';
import tasks from '../.out/tasks.js';
import { emit, fail, ms, now, WORKERS, warmFanfold } from './common.mjs';

const [nArg, roundsArg = '20'] = process.argv.slice(2);
const n = Number(nArg);
const rounds = Number(roundsArg);

const pool = local({ tasks }).Pool({ processes: WORKERS });
await warmFanfold(pool);
const first = [];
const all = [];
for (let r = 0; r < rounds; r++) {
  const t0 = now();
  const it = pool.imap('square', range(0, n));
  const head = await it.next();
  const t1 = now();
  let count = head.done ? 0 : 1;
  let last = head.value;
  for await (const v of it) {
    count++;
    last = v;
  }
  const t2 = now();
  if (head.value !== 0 || count !== n || last !== (n - 1) ** 2)
    fail(`wrong result: ${count} items, last ${last}`);
  first.push(ms(t0, t1));
  all.push(ms(t0, t2));
}
await pool.terminate();

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const mid = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
emit({
  case: 'imap',
  n,
  rounds,
  first_ms_cold: first[0],
  first_ms_median: mid(first.slice(1)),
  first_ms_max: Math.max(...first.slice(1)),
  all_ms_median: mid(all.slice(1)),
});
