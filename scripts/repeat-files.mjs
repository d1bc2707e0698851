#!/usr/bin/env node
// Runs test files alone and whole, each several times in a row, optionally beside busy loops that
// keep the cores occupied as a shared CI runner does: the check that the suite holds on a busy
// machine (docs/testing.md, "A suite that holds on a busy machine").
//
//   node scripts/repeat-files.mjs                                 every file of npm test's projects, 10 times each
//   node scripts/repeat-files.mjs --times 3 --busy 2 test/cloud/faults.test.ts test/cloud/chaos.test.ts
//   node scripts/repeat-files.mjs --project cloud --times 10
//
// Each run is `vitest run <file>` in a process of its own. One line per run (file, run, outcome,
// seconds, the 1-minute load average when it ended); the output of a failed run is kept in
// .cache/repeat/. Exits 1 if any run failed. Busy loops are `sh -c 'while :; do :; done'`,
// started before the first run and killed by their pids after the last (or on Ctrl-C).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const DEFAULT_PROJECTS = ['unit', 'local', 'cloud', 'runner'];

function parseArgs(argv) {
  const o = { times: 10, busy: 0, projects: [], files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--times') o.times = Number(value());
    else if (a === '--busy') o.busy = Number(value());
    else if (a === '--project') o.projects.push(value());
    else if (a === '--help' || a === '-h') o.help = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else o.files.push(a);
  }
  if (!Number.isInteger(o.times) || o.times < 1)
    throw new Error(`--times must be an integer >= 1, got ${o.times}`);
  if (!Number.isInteger(o.busy) || o.busy < 0)
    throw new Error(`--busy must be an integer >= 0, got ${o.busy}`);
  return o;
}

/** The test files of the projects, as `vitest list --filesOnly` names them. */
function listFiles(projects) {
  const args = ['vitest', 'list', '--filesOnly', ...projects.flatMap((p) => ['--project', p])];
  const out = spawnSync('npx', args, { cwd: ROOT, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`vitest list failed:\n${out.stderr}`);
  return out.stdout
    .split('\n')
    .map((l) => l.replace(/^\[[^\]]+\]\s*/, '').trim())
    .filter((l) => l.endsWith('.ts'));
}

function runOnce(file) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn('npx', ['vitest', 'run', file], { cwd: ROOT, env: process.env });
    let output = '';
    child.stdout.on('data', (c) => {
      output += c;
    });
    child.stderr.on('data', (c) => {
      output += c;
    });
    child.on('close', (code) =>
      resolve({ ok: code === 0, seconds: (performance.now() - started) / 1000, output }),
    );
  });
}

const o = parseArgs(process.argv.slice(2));
if (o.help) {
  process.stdout.write(`${readHelp()}\n`);
  process.exit(0);
}
const files = o.files.length > 0 ? o.files : listFiles(o.projects.length > 0 ? o.projects : DEFAULT_PROJECTS);
const logs = join(ROOT, '.cache', 'repeat');
mkdirSync(logs, { recursive: true });

const busy = Array.from({ length: o.busy }, () =>
  spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }),
);
const stopBusy = () => {
  for (const b of busy) if (b.exitCode === null) process.kill(b.pid, 'SIGKILL');
};
process.on('SIGINT', () => {
  stopBusy();
  process.exit(130);
});

const load = () => loadavg()[0].toFixed(2);
console.log(`${files.length} file(s) × ${o.times} run(s), ${o.busy} busy loop(s); load ${load()} at start`);
const failed = [];
const started = performance.now();
try {
  for (const file of files) {
    let passed = 0;
    for (let i = 1; i <= o.times; i++) {
      const r = await runOnce(file);
      const line = `${r.ok ? 'pass' : 'FAIL'}  ${file}  run ${i}/${o.times}  ${r.seconds.toFixed(1)} s  load ${load()}`;
      console.log(line);
      if (r.ok) passed++;
      else {
        const log = join(logs, `${file.replaceAll('/', '_')}.${i}.log`);
        writeFileSync(log, r.output);
        failed.push(`${file} run ${i} (output: ${log})`);
      }
    }
    console.log(`${passed === o.times ? 'ok  ' : 'FAIL'}  ${file}: ${passed} of ${o.times} runs passed`);
  }
} finally {
  stopBusy();
}
const minutes = ((performance.now() - started) / 60_000).toFixed(1);
console.log(
  `${failed.length === 0 ? 'all runs passed' : `${failed.length} run(s) failed`} in ${minutes} min; load ${load()} at the end`,
);
for (const f of failed) console.log(`  failed: ${f}`);
process.exit(failed.length === 0 ? 0 : 1);

function readHelp() {
  return [
    'usage: node scripts/repeat-files.mjs [--times N] [--busy N] [--project NAME]... [FILE]...',
    '  --times N     runs of each file, in a row (default 10)',
    '  --busy N      busy loops beside the runs (default 0; CI-like load: 2)',
    `  --project P   the files of this vitest project (default: ${DEFAULT_PROJECTS.join(', ')})`,
    '  FILE          test files to run (default: every file of the projects)',
  ].join('\n');
}
