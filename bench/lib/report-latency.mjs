// Sections of RESULTS.md on what a caller waits for before work starts or streams: the workers'
// bundle at a process's first map (4b) and imap's first result (5b).
import { median, range, ratio, sig } from './stats.mjs';

/** `h`: { runs(g, k), fig(g, k, pick), pair(g, a, b, pick) } from report.mjs. */
export function bundleSection(p, table, h) {
  if (h.runs('bundle', 'check').length === 0 && h.runs('bundle', 'cold').length === 0) return;
  const rec = (name) => (r) => r.rec[name];
  p("## 4b. The workers' bundle at the first map of a process", '');
  p(
    "A pool's threads run a bundle of fanfold's thread entry and the tasks module (`src/local/bundle.ts`), cached on disk by the mtime and size of its inputs. *check* = a fresh process asks for it (as the pool does at its first map) with the tasks module unchanged: the sidecar is read and every input stat'ed, esbuild is not loaded. *cold* = the same entry under a new cache key: esbuild is loaded, bundles and writes (removed afterwards). Time in process, imports excluded.",
    '',
  );
  const hits = h.fig('bundle', 'check', (r) => r.rec.cache_hit);
  table(
    ['case', 'ms', 'answered by the cache'],
    [
      [
        'check, unchanged tasks module',
        range(h.fig('bundle', 'check', rec('check_ms'))),
        `${hits.filter(Boolean).length} of ${hits.length}`,
      ],
      [
        'cold cache: esbuild loaded and run',
        range(h.fig('bundle', 'cold', rec('build_ms'))),
        '0 (by construction)',
      ],
    ],
  );
}

export function imapSection(data, p, table, h) {
  if (h.runs('imap', 'ff').length === 0 && h.runs('imap', 'py').length === 0) return;
  const rec = (name) => (r) => r.rec[name];
  const n = data.plan.imapN;
  const calls = data.plan.imapCalls;
  p(`## 5b. \`imap\`: how soon the first result comes, warm pool of 2`, '');
  p(
    `Each process warms its pool, then calls \`imap(square, range(0, ${n}))\` ${calls} times one after another, timing the call to its first result and then reading the rest. *First call* runs the imap path's code cold (the first imap of the process); *calls 2–${calls}* = the median (and the slowest) of the others, per process; the table gives median (min–max) over processes. Ratios are paired per round.`,
    '',
  );
  const row = (k, label) => [
    label,
    range(h.fig('imap', k, rec('first_ms_cold'))),
    range(h.fig('imap', k, rec('first_ms_median'))),
    range(h.fig('imap', k, rec('first_ms_max'))),
    range(h.fig('imap', k, rec('all_ms_median'))),
  ];
  table(
    [
      'pool',
      'first call: first result ms',
      'calls 2–N: first result ms, median',
      'calls 2–N: slowest first result ms',
      `calls 2–N: all ${n} results ms, median`,
    ],
    [row('ff', 'fanfold `pool.imap`'), row('py', 'CPython `pool.imap`')],
  );
  const first = h.pair('imap', 'ff', 'py', rec('first_ms_median'));
  p(
    `fanfold ÷ CPython, first result of calls 2–N: ${ratio(first)}; first call: ${ratio(h.pair('imap', 'ff', 'py', rec('first_ms_cold')))}; all results: ${ratio(h.pair('imap', 'ff', 'py', rec('all_ms_median')))} (below 1: fanfold is faster). Median fanfold first result ${sig(median(h.fig('imap', 'ff', rec('first_ms_median'))))} ms.`,
    '',
  );
}
