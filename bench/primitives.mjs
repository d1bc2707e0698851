#!/usr/bin/env node
// The primitives' benchmark: fanfold's local primitives against CPython's multiprocessing on this
// machine (same method as run.mjs: fresh process per run, variants alternate, round 0 is a warm-up,
// medians and paired ratios), and the AWS primitives' latency and request counts on the emulator
// (bench/cloud-primitives.ts). Writes the "Primitives" section of bench/RESULTS.md (between markers,
// which run.mjs keeps when it rewrites the rest).
//
//   npm run build && node bench/primitives.mjs          full run (~3 min)
//   node bench/primitives.mjs --quick                   1 counted round, small sizes
//   node bench/primitives.mjs --only local|cloud
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleTasks } from './lib/bundle-tasks.mjs';
import { runGroup } from './lib/spawn.mjs';
import { figures, pairedRatios, sig, summary } from './lib/stats.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const REPO = dirname(BENCH);
const RESULTS = join(BENCH, 'RESULTS.md');
export const START = '<!-- primitives:start -->';
export const END = '<!-- primitives:end -->';
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : null;
const log = (s) => process.stderr.write(`${s}\n`);

/** Cases: what one op is, N per run for each side (CPython is given enough work to time). */
const CASES = [
  {
    id: 'value_lock',
    what: '`Value` += 1 under its lock, 2 processes × N',
    n: quick ? 5_000 : 100_000,
    unit: 'increments/s',
  },
  {
    id: 'value_add',
    what: '`Value.add(1)` (atomic, no lock), 2 processes × N; CPython has no lock-free add: its column is value_lock',
    n: quick ? 5_000 : 200_000,
    unit: 'increments/s',
    py: 'value_lock',
  },
  {
    id: 'queue_rtt',
    what: '`Queue` round trip: caller puts, child gets and puts back on a second queue',
    n: quick ? 2_000 : 20_000,
    unit: 'round trips/s',
  },
  {
    id: 'queue_stream',
    what: '`Queue` one way: child puts N, caller gets N',
    n: quick ? 5_000 : 100_000,
    unit: 'messages/s',
  },
  {
    id: 'pipe_rtt',
    what: '`Pipe` round trip: caller sends, child receives and sends back',
    n: quick ? 2_000 : 20_000,
    unit: 'round trips/s',
  },
  {
    id: 'pipe_stream',
    what: '`Pipe` one way (duplex=false): child sends N, caller receives N',
    n: quick ? 5_000 : 100_000,
    unit: 'messages/s',
  },
  {
    id: 'process',
    what: '`Process(noop)`: start → join, median of N in one run',
    n: quick ? 5 : 20,
    unit: 'ms',
    lowerIsBetter: true,
  },
];

function python() {
  return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
}

async function local() {
  if (!existsSync(join(REPO, 'dist', 'src', 'index.js')))
    throw new Error('run `npm run build` first (dist/src/index.js is missing)');
  await bundleTasks();
  const py = python();
  const rows = [];
  for (const c of CASES) {
    const group = {
      id: c.id,
      rounds: quick ? 1 : 5,
      variants: [
        {
          key: 'ff',
          cmd: process.execPath,
          args: [join(BENCH, 'node', 'primitives.mjs'), c.id, String(c.n)],
        },
        { key: 'py', cmd: py, args: [join(BENCH, 'py', 'primitives.py'), c.py ?? c.id, String(c.n)] },
      ],
    };
    const res = await runGroup(group, log, null);
    const rate = (run) => (c.lowerIsBetter ? run.rec.ms : (run.rec.ops / run.rec.ms) * 1000);
    const ff = summary(figures(res.runs.ff, rate));
    const cp = summary(figures(res.runs.py, rate));
    const ratio = summary(pairedRatios(res.runs.ff, res.runs.py, rate));
    const failed = res.runs.ff.find((r) => !r?.ok)?.err;
    rows.push({ c, ff, cp, ratio, failed, other: res.other });
  }
  return rows;
}

function cloud() {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(BENCH, 'cloud-primitives.ts'), ...(quick ? ['--quick'] : [])],
    {
      cwd: REPO,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 900_000,
    },
  );
  if (r.status !== 0) throw new Error(`bench/cloud-primitives.ts failed (exit ${r.status})`);
  return r.stdout.trim();
}

const fmt = (s) => `${sig(s.med)} (${sig(s.min)}–${sig(s.max)})`;

function section(localRows, cloudMd) {
  const cpu = cpus();
  const lines = [
    START,
    '## 7. Primitives',
    '',
    `Command: \`npm run build && node bench/primitives.mjs${quick ? ' --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)}, ${cpu[0]?.model ?? '?'} × ${cpu.length}, Node ${process.version}, load ${loadavg()[0].toFixed(2)} at the end.`,
    '',
  ];
  if (localRows) {
    lines.push(
      '### Local context against CPython (`multiprocessing`, fork)',
      '',
      'Each party is a process (CPython) or a `Process` on its own worker thread (fanfold); medians (min–max) of the counted rounds, ratio = fanfold ÷ CPython of paired runs (for `Process` start → join, lower is better, so a ratio under 1 is faster).',
      '',
      '| case | N | fanfold | CPython | ratio | unit |',
      '|---|---|---|---|---|---|',
    );
    for (const { c, ff, cp, ratio, failed } of localRows) {
      lines.push(
        `| ${c.what} | ${c.n} | ${failed ? `FAILED: ${failed.slice(0, 80)}` : fmt(ff)} | ${fmt(cp)} | ${sig(ratio.med)}× | ${c.unit} |`,
      );
    }
    lines.push('');
  }
  if (cloudMd) lines.push(cloudMd, '');
  lines.push(END);
  return lines.join('\n');
}

/** Replaces (or appends) the marked section of RESULTS.md. */
export function spliceSection(text, block) {
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a >= 0 && b > a) return text.slice(0, a) + block + text.slice(b + END.length);
  return `${text.trimEnd()}\n\n${block}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const localRows = only === 'cloud' ? null : await local();
  const cloudMd = only === 'local' ? null : cloud();
  const block = section(localRows, cloudMd);
  const file = quick ? join(BENCH, '.out', 'PRIMITIVES.quick.md') : RESULTS;
  mkdirSync(dirname(file), { recursive: true });
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  writeFileSync(file, spliceSection(before, block));
  log(`wrote ${file}`);
  process.stdout.write(`${block}\n`);
}
