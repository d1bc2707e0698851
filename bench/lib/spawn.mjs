// Runs the variants of a group alternately, round after round, each run in a fresh process.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';

/**
 * @typedef {{ key: string, cmd: string, args: string[] }} Variant
 * @typedef {{ ok: boolean, wall: number, rec?: Record<string, unknown>, recs?: object[], err?: string }} Run
 */

/** Runs one process; wall seconds from spawn to exit, the last JSON line of its stdout as `rec`. */
export function runOnce({ cmd, args }, timeoutMs) {
  const t0 = process.hrtime.bigint();
  const p = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const lines = (p.stdout ?? '').split('\n').filter((l) => l.startsWith('{'));
  if (p.status !== 0 || lines.length === 0) {
    const why = p.error?.message ?? `exit ${p.status ?? p.signal}`;
    const tail = (p.stderr ?? '').trim().split('\n').slice(-3).join(' | ').slice(0, 300);
    return { ok: false, wall, err: `${why}${tail ? `: ${tail}` : ''}` };
  }
  const recs = lines.map((l) => JSON.parse(l));
  return { ok: true, wall, rec: recs.at(-1), recs };
}

/**
 * Round 0 is the warm-up (not counted); rounds 1..`rounds` are counted. Within a round the variants
 * run one after another, in reverse order every other round (A B C, C B A, …) so that neither side
 * always goes first. Returns { [key]: Run[] } of the counted rounds, index = round - 1.
 */
export function runGroup(group, log) {
  const { variants, rounds, timeoutMs = 180_000 } = group;
  const out = Object.fromEntries(variants.map((v) => [v.key, []]));
  const load = [loadavg()[0]];
  const t0 = Date.now();
  for (let r = 0; r <= rounds; r++) {
    const order = r % 2 ? [...variants].reverse() : variants;
    for (const v of order) {
      const run = runOnce(v, timeoutMs);
      if (!run.ok) log(`  ${group.id} ${v.key} round ${r}: FAILED ${run.err}`);
      if (r > 0) out[v.key][r - 1] = run;
    }
  }
  load.push(loadavg()[0]);
  const seconds = (Date.now() - t0) / 1000;
  log(
    `  ${group.id}: ${rounds} counted rounds + 1 warm-up, ${seconds.toFixed(1)} s, load ${load.map((l) => l.toFixed(2)).join('→')}`,
  );
  return { runs: out, rounds, seconds, load };
}
