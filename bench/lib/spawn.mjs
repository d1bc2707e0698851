// Runs the variants of a group alternately, round after round, each run in a fresh process.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

/**
 * CPU counters (clock ticks) of the machine and of this process with its waited-for children, or
 * null off Linux. `other` between two snapshots = CPU used by processes that are not this bench.
 */
export function cpuSnapshot() {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu;
    const busy = user + nice + system + irq + softirq + steal;
    // Fields after the command name (which may contain spaces): utime is the 12th, then stime, cutime, cstime.
    const self = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ').map(Number);
    const mine = self[11] + self[12] + self[13] + self[14];
    return { busy, total: busy + idle + iowait, mine };
  } catch {
    return null;
  }
}

/** Cores' worth of CPU used by other processes between two snapshots (NaN when unknown). */
export function otherCores(a, b) {
  if (!a || !b || b.total === a.total) return Number.NaN;
  const other = b.busy - a.busy - (b.mine - a.mine);
  return Math.max(0, (other / (b.total - a.total)) * cpus().length);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits, up to `maxSeconds`, until other processes use less than `threshold` cores over a second.
 * Returns the last figure measured.
 */
export async function waitQuiet(maxSeconds, threshold, log, sampleMs = 1000) {
  const start = Date.now();
  const until = start + maxSeconds * 1000;
  let told = false;
  for (;;) {
    const a = cpuSnapshot();
    await sleep(sampleMs);
    const other = otherCores(a, cpuSnapshot());
    if (!(other >= threshold) || Date.now() >= until) return other;
    if (Date.now() - start > 5000 && !told) {
      told = true;
      log(`  waiting for a quieter machine: other processes use ${other.toFixed(2)} cores`);
    }
  }
}

/**
 * @typedef {{ key: string, cmd: string, args: string[], json?: boolean }} Variant (json: false = prints nothing)
 * @typedef {{ ok: boolean, wall: number, rec?: Record<string, unknown>, recs?: object[], err?: string }} Run
 */

/** Runs one process; wall seconds from spawn to exit, the last JSON line of its stdout as `rec`. */
export function runOnce({ cmd, args, json = true }, timeoutMs) {
  const cpu0 = cpuSnapshot();
  const t0 = process.hrtime.bigint();
  const p = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  // Cores' worth of CPU that other processes used while this run ran.
  const other = otherCores(cpu0, cpuSnapshot());
  const lines = (p.stdout ?? '').split('\n').filter((l) => l.startsWith('{'));
  if (p.status !== 0 || (json && lines.length === 0)) {
    const why = p.error?.message ?? `exit ${p.status ?? p.signal}`;
    const tail = (p.stderr ?? '').trim().split('\n').slice(-3).join(' | ').slice(0, 300);
    return { ok: false, wall, other, err: `${why}${tail ? `: ${tail}` : ''}` };
  }
  const recs = lines.map((l) => JSON.parse(l));
  return { ok: true, wall, other, rec: recs.at(-1), recs };
}

/**
 * With `quiet` ({ maxSeconds, threshold }), each run first waits for the machine to be quiet.
 * Round 0 is the warm-up (not counted); rounds 1..`rounds` are counted. Within a round the variants
 * run one after another, in reverse order every other round (A B C, C B A, …) so that neither side
 * always goes first. Returns { [key]: Run[] } of the counted rounds, index = round - 1.
 */
export async function runGroup(group, log, quiet) {
  const { variants, rounds, timeoutMs = 180_000 } = group;
  const out = Object.fromEntries(variants.map((v) => [v.key, []]));
  const load = [loadavg()[0]];
  const t0 = Date.now();
  for (let r = 0; r <= rounds; r++) {
    const order = r % 2 ? [...variants].reverse() : variants;
    for (const v of order) {
      // On a shared machine, start each run when other processes are (nearly) idle.
      if (quiet) await waitQuiet(quiet.maxSeconds, quiet.threshold, log, 200);
      const run = runOnce(v, timeoutMs);
      if (!run.ok) log(`  ${group.id} ${v.key} round ${r}: FAILED ${run.err}`);
      if (r > 0) out[v.key][r - 1] = run;
    }
  }
  load.push(loadavg()[0]);
  // Mean of the counted runs' figures, weighted by their length (waiting time is left out).
  const counted = Object.values(out).flat();
  const time = counted.reduce((a, x) => a + x.wall, 0);
  const other = counted.reduce((a, x) => a + (x.other ?? Number.NaN) * x.wall, 0) / time;
  const seconds = (Date.now() - t0) / 1000;
  log(
    `  ${group.id}: ${rounds} counted rounds + 1 warm-up, ${seconds.toFixed(1)} s, load ${load.map((l) => l.toFixed(2)).join('→')}, other processes ${other.toFixed(2)} cores`,
  );
  return { runs: out, rounds, seconds, load, other };
}
