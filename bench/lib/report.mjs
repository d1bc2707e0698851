// Writes bench/RESULTS.md from the figures collected by run.mjs.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { bundleSection, imapSection } from './report-latency.mjs';
import { serialSection } from './report-serial.mjs';
import { figures, median, pairedRatios, range, ratio, si, sig } from './stats.mjs';
import { INPUTS, NOISY_CORES, targetRows } from './targets.mjs';

export function writeReport(data, file) {
  const R = data.results;
  const runs = (g, k) => R[g]?.runs[k] ?? [];
  const fig = (g, k, pick) => figures(runs(g, k), pick);
  // A group during which other processes used more than half a core is noisy: its ratios are
  // reported, marked, and give no verdict (targets.mjs).
  const noisy = (g) => (R[g]?.other > NOISY_CORES ? R[g].other : undefined);
  const pair = (g, a, b, pick) =>
    Object.assign(pairedRatios(runs(g, a), runs(g, b), pick), { noisy: noisy(g) });
  const wall = (r) => r.wall;
  const rec = (name) => (r) => r.rec[name];
  const lines = [];
  const p = (...xs) => lines.push(...xs);
  const table = (head, rows) => {
    p(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const row of rows) p(`| ${row.join(' | ')} |`);
    p('');
  };
  const failures = (g) =>
    Object.entries(R[g]?.runs ?? {}).flatMap(([k, rs]) =>
      rs.filter((r) => r && !r.ok).map((r) => `${g} ${k}: ${r.err}`),
    );

  const targets = targetRows(data, pair, noisy);

  // ---- header
  const i = data.info;
  p('# fanfold benchmark results', '');
  p(`Written by \`bench/run.mjs\` on ${i.date.slice(0, 10)} (${i.date}); do not edit by hand.`, '');
  p('```', data.command, '```', '');
  if (i.quick) p('**Quick run (1 counted round): figures are indicative only.**', '');
  if (i.fanfoldMissing) p(`**fanfold cases not run: ${i.fanfoldMissing}.**`, '');
  p(
    `- Machine: ${i.cpu}, ${i.cores} cores, ${sig(i.memGiB)} GiB memory; load average ${i.load.map((x) => x.toFixed(2)).join(' / ')} at the start, ${i.loadEnd.map((x) => x.toFixed(2)).join(' / ')} at the end.`,
    `- Node ${i.node} (\`${i.nodePath}\`); CPython ${i.python} (\`${i.pythonPath}\`, start method \`${i.startMethod}\`); piscina ${i.piscina}; msgpackr ${i.msgpackr}; fanfold at commit ${i.commit}.`,
    `- Every pool has 2 workers (fanfold \`Pool({ processes: 2 })\`, CPython \`Pool(2)\`, piscina min = max = 2 threads). Whole run: ${sig(i.seconds)} s.`,
    '',
  );
  p(
    '**Method** (`bench/README.md`). Each group of cases runs as rounds: in every round each case runs once, in a fresh process, alternately (A B C, then C B A); round 0 is a warm-up and is not counted. *Wall* = spawn to exit, seen by the harness. Every script also prints its own monotonic timings (`performance.now()`, `time.perf_counter()`): *in-process* figures. Figures are **median (min–max)** over the counted rounds; a ratio A÷B is the median (min–max) of the per-round ratios of the paired runs. *Warm* = the timed call starts after every worker has answered once (a rendezvous task that returns only when all workers are inside it at once: a `Barrier` in Python, a `BroadcastChannel` in Node).',
    '',
  );
  p(
    (i.waitQuiet
      ? `With \`--wait-quiet ${i.waitQuiet}\`, each run started once other processes used less than 0.25 cores over 0.2 s (waiting at most ${i.waitQuiet} s). `
      : '') +
      'Counted rounds per group (after one warm-up round), its duration, the 1-minute load average before → after it, and the CPU that *other* processes used while its counted runs ran (`/proc/stat` minus this bench and its children; mean over the runs, in cores): anything well above 0 made that group noisy.',
    '',
  );
  table(
    [
      'group',
      'counted rounds',
      'seconds',
      'load',
      'other processes, cores',
      'counted runs during which others used > 0.5 cores',
      'noisy (no verdict)',
    ],
    Object.entries(R).map(([g, r]) => {
      const all = Object.values(r.runs).flat();
      const busy = all.filter((x) => x?.other > 0.5).length;
      return [
        g,
        r.rounds,
        sig(r.seconds),
        r.load.map((x) => x.toFixed(2)).join(' → '),
        Number.isFinite(r.other) ? r.other.toFixed(2) : '—',
        `${busy} of ${all.length}`,
        noisy(g) === undefined ? 'no' : '**yes**',
      ];
    }),
  );

  p('## Targets', '');
  table(['target', 'goal', 'measured, median (min–max)', 'verdict'], targets);

  // ---- 0. process start
  if (R.start) {
    p('## 0. Starting the interpreter and importing the library (no pool)', '');
    const rows = [
      ['node-empty', '`node -e 0`'],
      ['node-fanfold', '`node -e "await import(\'fanfold\')"` (dist/src/index.js)'],
      ['py-empty', '`python3 -c pass`'],
      ['py-mp', '`python3 -c "import multiprocessing.pool"`'],
    ]
      .filter(([k]) => runs('start', k).length > 0)
      .map(([k, label]) => [label, range(fig('start', k, wall)), ratio(pair('start', k, 'py-empty', wall))]);
    table(['command', 'wall s', '÷ empty CPython'], rows);
  }

  // ---- 1. square
  p('## 1. `pool.map(square, …)`, default chunking', '');
  p(
    "fanfold without a `chunksize` option (its default follows CPython: ceil(N / (4 × workers))); CPython `pool.map(square, range(N))`. The plain array is built before the clock starts. Cold = fresh process, the map includes the workers' start; warm = the map alone on a pool whose workers have answered; *second map* = the same map again on the same pool (in a fresh Node process the first map also runs fanfold's own code before V8 has optimised it, on the main thread and in the workers; CPython's map loop is C).",
    '',
  );
  const sqRows = [];
  for (const n of data.plan.squareN) {
    const c = `square-cold-${n}`;
    const w = `square-warm-${n}`;
    for (const [k, label] of INPUTS) {
      sqRows.push([
        si(n),
        label,
        range(fig(c, k, wall)),
        range(fig(c, 'py', wall)),
        ratio(pair(c, k, 'py', wall)),
        `${sig(median(fig(c, k, rec('total_ms'))))} / ${sig(median(fig(c, 'py', rec('total_ms'))))}`,
        `${range(fig(w, k, rec('map_ms')))} / ${range(fig(w, 'py', rec('map_ms')))}`,
        `${si(median(fig(w, k, rec('items_per_s'))))} / ${si(median(fig(w, 'py', rec('items_per_s'))))}`,
        ratio(pair(w, k, 'py', rec('items_per_s'))),
        `${range(fig(w, k, rec('map2_ms')))} / ${range(fig(w, 'py', rec('map2_ms')))}`,
        ratio(pair(w, k, 'py', rec('items_per_s2'))),
      ]);
    }
  }
  table(
    [
      'N',
      'fanfold input',
      'cold wall s: fanfold',
      'cold wall s: CPython',
      'wall ÷ CPython',
      'cold in-proc total ms fanfold / CPython',
      'warm map ms fanfold / CPython',
      'warm items/s fanfold / CPython',
      'throughput ÷ CPython',
      'second map ms fanfold / CPython',
      'second map throughput ÷ CPython',
    ],
    sqRows,
  );

  // ---- 2. one task per item
  p('## 2. One task per item (`chunksize: 1`), warm pool', '');
  const itRows = [];
  for (const n of data.plan.itemN) {
    const g = `item-${n}`;
    for (const [k, label] of INPUTS) {
      itRows.push([
        si(n),
        label,
        range(fig(g, k, wall)),
        range(fig(g, 'py', wall)),
        ratio(pair(g, k, 'py', wall)),
        range(fig(g, k, rec('items_per_s')), si),
        range(fig(g, 'py', rec('items_per_s')), si),
        ratio(pair(g, k, 'py', rec('items_per_s'))),
      ]);
    }
  }
  table(
    [
      'N',
      'fanfold input',
      'wall s: fanfold',
      'wall s: CPython',
      'wall ÷ CPython',
      'items/s fanfold',
      'items/s CPython',
      'throughput ÷ CPython',
    ],
    itRows,
  );

  // ---- 3. CPU-bound
  const pl = data.plan;
  p('## 3. CPU-bound work, 64 items: one thread/process vs a pool of 2', '');
  p(
    `*int P* = each item loops P times over \`x = (x*31 + i) mod 2^32\` (JS: \`Math.imul\`, \`>>> 0\`; identical results). CPython runs P = ${si(pl.pyIntP)}; JS runs the same P (equal ops: JS is far faster per op) and P = ${si(pl.jsIntTimeP)} (about CPython's task time). *sha R* = each item is sha256 over R = ${pl.shaMiB} × 1 MiB (same bytes, same digest; both OpenSSL). Serial = a loop in the main thread / process. Speed-up = serial ÷ pool, paired: *warm map* = the map alone after every worker answered; *with start/stop* = construct + first answers + map + teardown.`,
    '',
  );
  const cpuRows = [];
  const cpuRow = (label, s, pKey) => {
    if (runs('cpu', s).length === 0 && runs('cpu', pKey).length === 0) return;
    cpuRows.push([
      label,
      range(fig('cpu', s, (r) => r.rec.map_ms / 1000)),
      range(fig('cpu', pKey, (r) => r.rec.map_ms / 1000)),
      range(fig('cpu', pKey, (r) => r.rec.total_ms / 1000)),
      ratio(pair('cpu', s, pKey, rec('map_ms'))),
      ratio(pair('cpu', s, pKey, rec('total_ms'))),
      ratio(pair('cpu', s, pKey, wall)),
    ]);
  };
  cpuRow(`CPython, int ${si(pl.pyIntP)}`, 'py-serial-int', 'py-pool-int');
  cpuRow(`CPython, sha ${pl.shaMiB}`, 'py-serial-sha', 'py-pool-sha');
  cpuRow(`fanfold, int ${si(pl.pyIntP)} (equal ops)`, 'ff-serial-int-ops', 'ff-pool-int-ops');
  cpuRow(`fanfold, int ${si(pl.jsIntTimeP)} (≈ equal task time)`, 'ff-serial-int-time', 'ff-pool-int-time');
  cpuRow(`fanfold, sha ${pl.shaMiB}`, 'ff-serial-sha', 'ff-pool-sha');
  table(
    [
      'work',
      'serial s',
      'pool warm map s',
      'pool in-proc total s',
      'speed-up, warm map',
      'speed-up with start/stop',
      'whole-process wall speed-up',
    ],
    cpuRows,
  );
  p(
    `Across languages (pool of 2, paired): sha ${pl.shaMiB} fanfold ÷ CPython warm map time ${ratio(pair('cpu', 'ff-pool-sha', 'py-pool-sha', rec('map_ms')))}; int ${si(pl.pyIntP)} (equal ops) ${ratio(pair('cpu', 'ff-pool-int-ops', 'py-pool-int', rec('map_ms')))}; whole-process wall, equal ops ${ratio(pair('cpu', 'ff-pool-int-ops', 'py-pool-int', wall))}.`,
    '',
  );

  // ---- 4. start-up
  p('## 4. Pool start-up: construct → first result from every worker → teardown', '');
  const stRows = [];
  for (const [k, label] of [
    ['ff', 'fanfold `local().Pool()`'],
    ['piscina', 'raw piscina'],
    ['py-fork', 'CPython `Pool`, fork (default)'],
    ['py-spawn', 'CPython `Pool`, spawn'],
  ]) {
    if (runs('startup', k).length === 0) continue;
    stRows.push([
      label,
      range(fig('startup', k, wall)),
      range(fig('startup', k, rec('construct_ms'))),
      range(fig('startup', k, rec('first_ms'))),
      range(fig('startup', k, rec('teardown_ms'))),
      range(fig('startup', k, rec('total_ms'))),
      k === 'py-fork' ? '1' : ratio(pair('startup', k, 'py-fork', rec('total_ms'))),
      k === 'py-fork' ? '1' : ratio(pair('startup', k, 'py-fork', wall)),
    ]);
  }
  table(
    [
      'pool',
      'whole wall s',
      'construct ms',
      'first results ms',
      'teardown ms',
      'in-proc total ms',
      'total ÷ CPython fork',
      'wall ÷ CPython fork',
    ],
    stRows,
  );

  const helpers = { runs, fig, pair };
  bundleSection(p, table, helpers);

  // ---- 5. per-task overhead
  p('## 5. Per-task overhead: tiny tasks (`noop`) on a warm pool of 2, fanfold vs raw piscina', '');
  p(
    'piscina with its defaults (one task in flight per thread) and min = max = 2 threads; the same task function in both.',
    '',
  );
  const ovRows = [];
  for (const [g, k, label] of [
    ['overhead-burst', 'ff-apply', `fanfold: ${si(pl.overheadN)} \`apply\` calls at once`],
    ['overhead-burst', 'ff-map', `fanfold: \`map\` over ${si(pl.overheadN)} items, chunksize 1`],
    ['overhead-burst', 'piscina', `piscina: ${si(pl.overheadN)} \`run\` calls at once`],
    ['overhead-seq', 'ff-apply', `fanfold: ${si(pl.overheadSeqN)} \`apply\` calls, one after another`],
    ['overhead-seq', 'piscina', `piscina: ${si(pl.overheadSeqN)} \`run\` calls, one after another`],
  ]) {
    if (runs(g, k).length === 0) continue;
    ovRows.push([
      label,
      range(fig(g, k, rec('us_per_task'))),
      range(fig(g, k, rec('tasks_per_s')), si),
      k === 'piscina' ? '1' : ratio(pair(g, k, 'piscina', rec('us_per_task'))),
    ]);
  }
  table(['calls', 'µs per task', 'tasks/s', '÷ piscina'], ovRows);

  imapSection(data, p, table, helpers);

  // ---- 6. serialisers
  serialSection(data, p, table);

  const fails = Object.keys(R).flatMap(failures);
  if (fails.length) {
    p('## Failed runs', '');
    for (const f of fails) p(`- ${f}`);
    p('');
  }
  p('Raw figures of every run: `bench/.out/results.json` (not committed; re-run to regenerate).', '');
  // Keep the sections other scripts write (bench/primitives.mjs, bench/scale/report.ts,
  // bench/fanout-rate.ts, bench/store-cost.ts) and the workers' figures from the runner
  // (test/e2e/workers.test.ts, copied by hand) when the rest is rewritten.
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  for (const name of ['primitives', 'scale', 'fanout-rate', 'store-cost', 'workers']) {
    const a = old.indexOf(`<!-- ${name}:start -->`);
    const b = old.indexOf(`<!-- ${name}:end -->`);
    if (a >= 0 && b > a) lines.push('', old.slice(a, b + `<!-- ${name}:end -->`.length), '');
  }
  writeFileSync(file, lines.join('\n'));
  return targets;
}
