// Medians, ranges, paired ratios and number formatting for the report.

/** Median of the finite numbers in `xs` (NaN when there are none). */
export function median(xs) {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** { med, min, max, n } of the finite numbers in `xs`. */
export function summary(xs) {
  const v = xs.filter(Number.isFinite);
  return { med: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/**
 * Ratios a[r] / b[r] of the runs made in the same round r (the pairs), skipping rounds where either
 * failed. `pick` extracts the figure from a run.
 */
export function pairedRatios(aRuns, bRuns, pick) {
  const out = [];
  for (let r = 0; r < Math.min(aRuns.length, bRuns.length); r++) {
    const a = aRuns[r]?.ok ? pick(aRuns[r]) : Number.NaN;
    const b = bRuns[r]?.ok ? pick(bRuns[r]) : Number.NaN;
    if (Number.isFinite(a) && Number.isFinite(b) && b !== 0) out.push(a / b);
  }
  return out;
}

/** Figures of the successful runs. */
export const figures = (runs, pick) => runs.filter((r) => r?.ok).map(pick);

/** Three significant digits, without exponent notation for the sizes we print. */
export function sig(x, digits = 3) {
  if (!Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const mag = Math.floor(Math.log10(Math.abs(x)));
  const decimals = Math.max(0, digits - 1 - mag);
  return x.toFixed(decimals);
}

/** 1234567 → "1.23M", 45600 → "45.6k". */
export function si(x) {
  if (!Number.isFinite(x)) return '—';
  if (Math.abs(x) >= 1e6) return `${sig(x / 1e6)}M`;
  if (Math.abs(x) >= 1e3) return `${sig(x / 1e3)}k`;
  return sig(x);
}

/** "median (min–max)" with the given formatter; "—" when nothing was measured. */
export function range(xs, fmt = sig) {
  const s = summary(xs);
  if (s.n === 0) return '—';
  if (s.n === 1) return fmt(s.med);
  return `${fmt(s.med)} (${fmt(s.min)}–${fmt(s.max)})`;
}

/** The same for ratios, with a trailing ×. */
export const ratio = (xs) => (xs.length === 0 ? '—' : `${range(xs, (x) => sig(x))}×`);
