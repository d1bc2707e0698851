// fanfold's local primitives, the twins of bench/py/primitives.py: two parties are a Process (its own
// worker thread) and the caller, or two Processes, as in the Python script.
// usage: primitives.mjs CASE N   (CASE: value_lock, value_add, queue_rtt, queue_stream, pipe_rtt, pipe_stream, process)
import { emit, fail, ms, now } from './common.mjs';

const { local } = await import('../../dist/src/index.js');
const { default: tasks } = await import('../.out/tasks.js');
const [kind, nArg] = process.argv.slice(2);
const n = Number(nArg);
const mp = local({ tasks });
const out = { case: kind, lib: 'fanfold', n };

async function joinAll(ps) {
  for (const p of ps) {
    await p.join();
    if (p.exitCode !== 0) fail(`${p.name} ended with exit code ${p.exitCode}: ${p.error?.message}`);
  }
}

if (kind === 'value_lock' || kind === 'value_add') {
  const v = mp.Value('i', 0);
  const start = mp.Event();
  const task = kind === 'value_lock' ? 'incLocked' : 'incAtomic';
  const ps = [mp.Process(task, [v, start, n]), mp.Process(task, [v, start, n])];
  for (const p of ps) await p.start();
  const t0 = now();
  await start.set();
  await joinAll(ps);
  out.ms = ms(t0, now());
  out.ops = 2 * n;
  if ((await v.get()) !== 2 * n) fail(`expected ${2 * n}, got ${await v.get()}`);
} else if (kind === 'queue_rtt' || kind === 'pipe_rtt') {
  let p;
  let send;
  let recv;
  if (kind === 'queue_rtt') {
    const [a, b] = [mp.Queue(), mp.Queue()];
    p = mp.Process('echoQueue', [a, b, n]);
    send = (x) => a.put(x);
    recv = () => b.get();
  } else {
    const [mine, theirs] = mp.Pipe();
    p = mp.Process('echoPipe', [theirs, n]);
    send = (x) => mine.send(x);
    recv = () => mine.recv();
  }
  await p.start();
  await send(-1);
  await recv(); // the child is up and echoing
  const t0 = now();
  for (let i = 0; i < n - 1; i++) {
    await send(i);
    await recv();
  }
  out.ms = ms(t0, now());
  out.ops = n - 1;
  await joinAll([p]);
} else if (kind === 'queue_stream' || kind === 'pipe_stream') {
  const start = mp.Event();
  let p;
  let recv;
  if (kind === 'queue_stream') {
    const q = mp.Queue();
    p = mp.Process('fillQueue', [q, start, n]);
    recv = () => q.get();
  } else {
    const [mine, theirs] = mp.Pipe(false);
    p = mp.Process('fillPipe', [theirs, start, n]);
    recv = () => mine.recv();
  }
  await p.start();
  const t0 = now();
  await start.set();
  for (let i = 0; i < n; i++) if ((await recv()) !== i) fail(`item ${i} out of order`);
  out.ms = ms(t0, now());
  out.ops = n;
  await joinAll([p]);
} else if (kind === 'process') {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    const p = mp.Process('nothing', []);
    await p.start();
    await p.join();
    times.push(now() - t0);
    if (p.exitCode !== 0) fail(`process ended with exit code ${p.exitCode}`);
  }
  times.sort((a, b) => a - b);
  out.ms = ms(0, times[times.length >> 1]);
  out.ops = 1;
} else {
  fail(`unknown case ${kind}`);
}
emit(out);
process.exit(0);
