// The targets of the benchmark, each with its measured figure and PASS/MISS.
import { figures, median, range, ratio, si, sig } from './stats.mjs';

/** fanfold's input kinds: variant key and label. */
export const INPUTS = [
  ['ff-range', 'range(0, N)'],
  ['ff-array', 'plain array'],
];

/** Other processes' mean use, in cores, above which a group is noisy and gives no verdict. */
export const NOISY_CORES = 0.5;

/**
 * Rows [target, goal, measured, verdict]. `pair(group, a, b, pick)` gives the paired ratios a÷b of a
 * group's runs; a target with no figure is NOT RUN.
 */
export function targetRows(data, pair, noisy = () => undefined) {
  const wall = (r) => r.wall;
  const rec = (name) => (r) => r.rec[name];
  const targets = [];
  const target = (what, goal, xs, pass, fmt = ratio) => {
    const m = median(xs);
    const verdict =
      xs.length === 0
        ? 'NOT RUN'
        : xs.noisy !== undefined
          ? `NOISY (others used ${xs.noisy.toFixed(2)} cores): no verdict`
          : pass(m)
            ? 'PASS'
            : 'MISS';
    targets.push([what, goal, fmt(xs), verdict]);
  };
  /** A group's own figures (not a ratio), marked noisy as its ratios are. */
  const own = (g, k, pick) =>
    Object.assign(figures(data.results[g]?.runs[k] ?? [], pick), { noisy: noisy(g) });
  const millis = (xs) => (xs.length === 0 ? '—' : `${range(xs, (x) => sig(x))} ms`);
  const N6 = 1_000_000;
  for (const [k, label] of INPUTS) {
    target(
      `square over 1e6, ${label}: warm \`Pool.map\` throughput ÷ CPython's`,
      '≥ 5×',
      pair(`square-warm-${N6}`, k, 'py', rec('items_per_s')),
      (m) => m >= 5,
    );
  }
  for (const [k, label] of INPUTS) {
    target(
      `(the same, second map on the same pool: JIT-warm steady state) ${label}`,
      '≥ 5×',
      pair(`square-warm-${N6}`, k, 'py', rec('items_per_s2')),
      (m) => m >= 5,
    );
  }
  for (const [k, label] of INPUTS) {
    target(
      `square over 1e6, ${label}: whole-process wall ÷ CPython's`,
      '≤ 0.8',
      pair(`square-cold-${N6}`, k, 'py', wall),
      (m) => m <= 0.8,
    );
  }
  for (const n of data.plan.itemN) {
    for (const [k, label] of INPUTS) {
      target(
        `one task per item (chunksize 1), N=${si(n)}, ${label}: throughput ÷ CPython's`,
        '≥ 2×',
        pair(`item-${n}`, k, 'py', rec('items_per_s')),
        (m) => m >= 2,
      );
    }
  }
  target(
    `\`imap\` over range(0, ${si(data.plan.imapN ?? 1000)}), warm pool, JIT-warm: first result (median of a process's calls 2–${data.plan.imapCalls ?? 20})`,
    '≤ 2 ms',
    own('imap', 'ff', rec('first_ms_median')),
    (m) => m <= 2,
    millis,
  );
  target(
    'pool start-up (construct → every worker answered → teardown), in-process ÷ raw piscina',
    '≤ 1×',
    pair('startup', 'ff', 'piscina', rec('total_ms')),
    (m) => m <= 1,
  );
  target(
    "the workers' bundle on an unchanged tasks module: cache check, fresh process",
    '≤ 5 ms',
    own('bundle', 'check', rec('check_ms')),
    (m) => m <= 5,
    millis,
  );
  const speedup = (work, pick) => pair('cpu', `ff-serial-${work}`, `ff-pool-${work}`, pick);
  target(
    'CPU-bound int loop (≈ CPython task time): 1 thread ÷ pool of 2, warm map',
    '≥ 1.9×',
    speedup('int-time', rec('map_ms')),
    (m) => m >= 1.9,
  );
  target(
    'CPU-bound sha256 (same bytes): 1 thread ÷ pool of 2, warm map',
    '≥ 1.9×',
    speedup('sha', rec('map_ms')),
    (m) => m >= 1.9,
  );
  const over = (g, k) => pair(g, k, 'piscina', rec('us_per_task'));
  target(
    `per-task overhead, ${si(data.plan.overheadN)} tiny \`apply\` calls at once: µs/task ÷ raw piscina \`run\``,
    '≤ 1.2×',
    over('overhead-burst', 'ff-apply'),
    (m) => m <= 1.2,
  );
  target(
    `per-task overhead, \`map\` of ${si(data.plan.overheadN)} tiny items, chunksize 1: µs/task ÷ raw piscina \`run\``,
    '≤ 1.2×',
    over('overhead-burst', 'ff-map'),
    (m) => m <= 1.2,
  );
  target(
    `per-task latency, ${si(data.plan.overheadSeqN)} \`apply\` calls one after another: µs/task ÷ raw piscina`,
    '≤ 1.2×',
    over('overhead-seq', 'ff-apply'),
    (m) => m <= 1.2,
  );

  return targets;
}
