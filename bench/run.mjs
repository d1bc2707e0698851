#!/usr/bin/env node
// fanfold's benchmark: the local Pool against CPython's multiprocessing.Pool and raw piscina, plus the
// serialiser measurement behind the wire format. Method (bench/README.md): paired alternating runs,
// one warm-up round not counted, medians with min–max, ratios of paired runs. `--help` prints USAGE.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleTasks } from './lib/bundle-tasks.mjs';
import { writeReport } from './lib/report.mjs';
import { runGroup } from './lib/spawn.mjs';

const USAGE = `usage: node bench/run.mjs [options]   (npm run build first: it measures dist/)

  (no option)          full run (~5 min), writes bench/RESULTS.md and bench/.out/results.json
  --quick              1 counted round, smaller CPU work; writes bench/.out/RESULTS.quick.md
  --only G1,G2         only these groups: start square item imap cpu startup bundle overhead
                       serial
  --report             rewrite the report from bench/.out/results.json, running nothing
  --wait-quiet S       before each run, wait up to S seconds until other processes use
                       < 0.25 cores (shared machines)
  --help               print this and exit

A group during which other processes used more than half a core is marked noisy in the report,
and none of its targets gets a verdict.
`;

const BENCH = dirname(fileURLToPath(import.meta.url));
const REPO = dirname(BENCH);
const OUT = join(BENCH, '.out');
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const quick = argv.includes('--quick');
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : null;
const log = (s) => process.stderr.write(`${s}\n`);
const waitQuietS = argv.includes('--wait-quiet') ? Number(argv[argv.indexOf('--wait-quiet') + 1]) : 0;

/** Counted rounds per group (each after one warm-up round) and the work sizes. */
const PLAN = {
  startRounds: quick ? 1 : 10,
  squareN: [10_000, 100_000, 1_000_000],
  squareRounds: quick ? 1 : 5,
  itemN: [10_000, 100_000],
  itemRounds: { 10000: quick ? 1 : 5, 100000: quick ? 1 : 3 },
  cpuRounds: quick ? 1 : 5,
  // int: CPython's 64 × spin(P) against the same P in JS (equal ops: JS is ~80× faster), and a JS P
  // that takes about as long as CPython's (equal task time). sha: 64 × sha256 over R MiB (equal work).
  pyIntP: quick ? 20_000 : 200_000,
  jsIntTimeP: quick ? 1_600_000 : 16_000_000,
  shaMiB: quick ? 4 : 32,
  startupRounds: quick ? 1 : 10,
  imapN: 1_000,
  // imap calls per process: the first runs the imap path cold, the median of the rest is the steady state.
  imapCalls: 20,
  imapRounds: quick ? 1 : 5,
  bundleRounds: quick ? 1 : 5,
  overheadN: 10_000,
  overheadSeqN: 2_000,
  overheadRounds: quick ? 1 : 5,
  serialRounds: quick ? 1 : 3,
  serialSamples: 2,
  serialSampleMs: 60,
};

/** Why fanfold cannot be measured, or null when dist/src/index.js exports local() and range(). */
async function fanfoldMissing() {
  try {
    const m = await import(pathToFileURL(join(REPO, 'dist', 'src', 'index.js')).href);
    if (typeof m.local !== 'function' || typeof m.range !== 'function') {
      return 'dist/src/index.js does not export local() and range() yet';
    }
    return null;
  } catch (err) {
    return `cannot import dist/src/index.js (run npm run build): ${err.message.split('\n')[0]}`;
  }
}

const sh = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8' }).trim();

function machine(python) {
  const cpu = cpus();
  const pkg = (name) =>
    JSON.parse(readFileSync(join(REPO, 'node_modules', name, 'package.json'), 'utf8')).version;
  let commit = 'unknown';
  try {
    commit = sh('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  } catch {}
  return {
    date: new Date().toISOString(),
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memGiB: totalmem() / 2 ** 30,
    node: process.version,
    nodePath: process.execPath,
    python: sh(python, ['-c', 'import sys; print(sys.version.split()[0])']),
    pythonPath: python,
    startMethod: sh(python, ['-c', 'import multiprocessing as m; print(m.get_start_method())']),
    piscina: pkg('piscina'),
    msgpackr: pkg('msgpackr'),
    commit,
    load: loadavg(),
  };
}

function groups(python, withFanfold) {
  const node = (script, ...args) => ({
    cmd: process.execPath,
    args: [join(BENCH, 'node', script), ...args.map(String)],
  });
  const py = (script, ...args) => ({ cmd: python, args: [join(BENCH, 'py', script), ...args.map(String)] });
  const ff = (key, spec) => (withFanfold ? [{ key, ...spec }] : []);
  const list = [];
  // What starting an interpreter and importing the library costs, before any pool exists.
  const fanfoldUrl = pathToFileURL(join(REPO, 'dist', 'src', 'index.js')).href;
  list.push({
    id: 'start',
    kind: 'start',
    rounds: PLAN.startRounds,
    variants: [
      { key: 'node-empty', cmd: process.execPath, args: ['-e', '0'], json: false },
      ...ff('node-fanfold', {
        cmd: process.execPath,
        args: ['--input-type=module', '-e', `await import(${JSON.stringify(fanfoldUrl)})`],
        json: false,
      }),
      { key: 'py-empty', cmd: python, args: ['-c', 'pass'], json: false },
      { key: 'py-mp', cmd: python, args: ['-c', 'import multiprocessing.pool'], json: false },
    ],
  });
  for (const n of PLAN.squareN) {
    for (const warm of [false, true]) {
      const flag = warm ? ['warm', 'twice'] : [];
      list.push({
        id: `square-${warm ? 'warm' : 'cold'}-${n}`,
        kind: 'square',
        rounds: PLAN.squareRounds,
        variants: [
          ...ff('ff-range', node('square.mjs', n, 'auto', 'range', ...flag)),
          ...ff('ff-array', node('square.mjs', n, 'auto', 'array', ...flag)),
          { key: 'py', ...py('square.py', n, 'default', ...flag) },
        ],
      });
    }
  }
  for (const n of PLAN.itemN) {
    list.push({
      id: `item-${n}`,
      kind: 'item',
      rounds: PLAN.itemRounds[n],
      variants: [
        ...ff('ff-range', node('square.mjs', n, 1, 'range', 'warm')),
        ...ff('ff-array', node('square.mjs', n, 1, 'array', 'warm')),
        { key: 'py', ...py('square.py', n, 1, 'warm') },
      ],
    });
  }
  list.push({
    id: 'imap',
    kind: 'imap',
    rounds: PLAN.imapRounds,
    variants: [
      ...ff('ff', node('imap.mjs', PLAN.imapN, PLAN.imapCalls)),
      { key: 'py', ...py('imap.py', PLAN.imapN, PLAN.imapCalls) },
    ],
  });
  const { pyIntP: P, jsIntTimeP: JP, shaMiB: R } = PLAN;
  list.push({
    id: 'cpu',
    kind: 'cpu',
    rounds: PLAN.cpuRounds,
    timeoutMs: 600_000,
    variants: [
      { key: 'py-serial-int', ...py('cpu.py', 'serial', 'int', P) },
      { key: 'py-pool-int', ...py('cpu.py', 'pool', 'int', P) },
      { key: 'py-serial-sha', ...py('cpu.py', 'serial', 'sha', R) },
      { key: 'py-pool-sha', ...py('cpu.py', 'pool', 'sha', R) },
      ...ff('ff-serial-int-ops', node('cpu.mjs', 'serial', 'int', P)),
      ...ff('ff-pool-int-ops', node('cpu.mjs', 'fanfold', 'int', P)),
      ...ff('ff-serial-int-time', node('cpu.mjs', 'serial', 'int', JP)),
      ...ff('ff-pool-int-time', node('cpu.mjs', 'fanfold', 'int', JP)),
      ...ff('ff-serial-sha', node('cpu.mjs', 'serial', 'sha', R)),
      ...ff('ff-pool-sha', node('cpu.mjs', 'fanfold', 'sha', R)),
    ],
  });
  list.push({
    id: 'startup',
    kind: 'startup',
    rounds: PLAN.startupRounds,
    variants: [
      ...ff('ff', node('startup.mjs', 'fanfold')),
      { key: 'piscina', ...node('startup.mjs', 'piscina') },
      { key: 'py-fork', ...py('startup.py', 'fork') },
      { key: 'py-spawn', ...py('startup.py', 'spawn') },
    ],
  });
  // The first map of a fresh process asks for the workers' bundle: a cache check when the tasks
  // module is unchanged, a build on a cold cache.
  list.push({
    id: 'bundle',
    kind: 'bundle',
    rounds: PLAN.bundleRounds,
    variants: [...ff('check', node('bundle.mjs', 'check')), ...ff('cold', node('bundle.mjs', 'cold'))],
  });
  const on = PLAN.overheadN;
  list.push({
    id: 'overhead-burst',
    kind: 'overhead',
    rounds: PLAN.overheadRounds,
    variants: [
      ...ff('ff-apply', node('overhead.mjs', 'fanfold-apply', on, 'burst')),
      ...ff('ff-map', node('overhead.mjs', 'fanfold-map', on, 'burst')),
      { key: 'piscina', ...node('overhead.mjs', 'piscina', on, 'burst') },
    ],
  });
  list.push({
    id: 'overhead-seq',
    kind: 'overhead',
    rounds: PLAN.overheadRounds,
    variants: [
      ...ff('ff-apply', node('overhead.mjs', 'fanfold-apply', PLAN.overheadSeqN, 'seq')),
      { key: 'piscina', ...node('overhead.mjs', 'piscina', PLAN.overheadSeqN, 'seq') },
    ],
  });
  const codecs = JSON.parse(sh(process.execPath, [join(BENCH, 'node', 'serial.mjs'), '--list']));
  list.push({
    id: 'serial',
    kind: 'serial',
    rounds: PLAN.serialRounds,
    variants: codecs.map((c) => ({
      key: c,
      ...node('serial.mjs', c, PLAN.serialSamples, PLAN.serialSampleMs),
    })),
  });
  return list.filter((g) => !only || only.includes(g.kind));
}

async function main() {
  const resultsFile = join(OUT, quick ? 'results.quick.json' : 'results.json');
  const reportFile = quick ? join(OUT, 'RESULTS.quick.md') : join(BENCH, 'RESULTS.md');
  if (argv.includes('--report')) {
    writeReport(JSON.parse(readFileSync(resultsFile, 'utf8')), reportFile);
    log(`wrote ${reportFile}`);
    return;
  }
  const t0 = Date.now();
  await bundleTasks();
  const missing = await fanfoldMissing();
  if (missing) log(`fanfold cases skipped: ${missing}`);
  // The real CPython binary, resolved once: a version manager's shim adds ~90 ms to every start.
  const python = sh('python3', ['-c', 'import sys; print(sys.executable)']);
  const info = machine(python);
  log(`${info.cpu}, ${info.cores} cores; node ${info.node}; python ${info.python} (${python})`);
  const results = {};
  for (const g of groups(python, !missing)) {
    const quiet = waitQuietS > 0 ? { maxSeconds: waitQuietS, threshold: 0.25 } : undefined;
    log(`${g.id}: ${g.variants.map((v) => v.key).join(', ')}`);
    results[g.id] = { ...(await runGroup(g, log, quiet)), kind: g.kind, variants: g.variants };
  }
  const types = JSON.parse(sh(process.execPath, [join(BENCH, 'node', 'serial.mjs'), '--types'])).types;
  const data = {
    info: {
      ...info,
      loadEnd: loadavg(),
      seconds: (Date.now() - t0) / 1000,
      quick,
      only,
      fanfoldMissing: missing,
    },
    plan: PLAN,
    command: `npm run build && node bench/run.mjs${argv.length ? ` ${argv.join(' ')}` : ''}`,
    results,
    types,
  };
  writeFileSync(resultsFile, JSON.stringify(data, null, 1));
  const targets = writeReport(data, reportFile);
  log(`wrote ${reportFile} and ${resultsFile} in ${data.info.seconds.toFixed(0)} s`);
  log('\ntargets (median (min–max) of paired runs; NOISY: others used > 0.5 cores):');
  for (const [what, goal, measured, verdict] of targets)
    log(`  [${verdict}] ${what}: ${measured} (goal ${goal})`);
}

await main();
