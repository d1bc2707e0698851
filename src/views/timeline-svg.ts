/**
 * Draws a {@link Timeline} as one self-contained SVG (no script, no external reference) and as an
 * HTML page around it: the bars of every chunk attempt on its worker thread's row, coloured by
 * outcome, stragglers outlined; below them the histogram of chunk durations and the throughput.
 */
import type { JobStore } from '../ports.js';
import { type BarOutcome, readTimeline, type Timeline } from './timeline.js';

/** Fill of a bar by outcome (first delivery, redelivery, straggler's backup). */
export const OUTCOME_COLOURS: Readonly<Record<BarOutcome, string>> = {
  ok: '#4c9a5b',
  retried: '#e0a030',
  backup: '#4a78c8',
};
const STRAGGLER_STROKE = '#c8342c';
const WIDTH = 960;
const LABEL = 150;
const ROW = 16;
const CHART = 110;

/** Escapes text for SVG and HTML. */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

/**
 * The timeline as an SVG document: one `<rect class="bar">` per chunk attempt (with `data-index`,
 * `data-attempt` and `data-outcome`), then the two charts.
 */
export function timelineSvg(t: Timeline): string {
  const plotW = WIDTH - LABEL - 10;
  const x = (ms: number) => LABEL + (ms / t.span) * plotW;
  const top = 40;
  const barsH = Math.max(1, t.rows.length) * ROW;
  const chartsTop = top + barsH + 40;
  const height = chartsTop + CHART + 40;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11" role="img">`,
    `<title>Timeline of fanfold job ${esc(t.jobId)} (${esc(t.task)})</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">job ${esc(t.jobId)} · ${esc(t.task)} · ${t.status}</text>`,
    `<text x="10" y="33">${t.bars.length} attempts recorded${t.total === undefined ? '' : ` of ${t.total} chunks`}, median ${fmt(t.medianMs)}, span ${fmt(t.span)}${t.missing ? `, ${t.missing} not recorded` : ''}${t.error ? ` · error: ${esc(t.error)}` : ''}</text>`,
  );
  legend(out, WIDTH - 330, 14);
  t.rows.forEach((r, i) => {
    const y = top + i * ROW;
    if (i % 2) out.push(`<rect x="${LABEL}" y="${y}" width="${plotW}" height="${ROW}" fill="#f4f4f4"/>`);
    out.push(
      `<text x="${LABEL - 6}" y="${y + ROW - 4}" text-anchor="end">${esc(short(r.worker))} #${r.thread}</text>`,
    );
  });
  for (const b of t.bars) {
    const w = Math.max(1, x(b.start + b.ms) - x(b.start));
    const stroke = b.straggler
      ? ` stroke="${STRAGGLER_STROKE}" stroke-width="2"`
      : ' stroke="#fff" stroke-width="0.5"';
    out.push(
      `<rect class="bar" data-index="${b.index}" data-attempt="${b.attempt}" data-outcome="${b.outcome}"${b.straggler ? ' data-straggler="true"' : ''} x="${x(b.start).toFixed(1)}" y="${top + b.row * ROW + 2}" width="${w.toFixed(1)}" height="${ROW - 4}" fill="${OUTCOME_COLOURS[b.outcome]}"${stroke}><title>chunk ${b.index}, attempt ${b.attempt} (${b.outcome}${b.straggler ? ', straggler' : ''}): ${fmt(b.ms)} from ${fmt(b.start)}</title></rect>`,
    );
  }
  out.push(`<text x="${LABEL}" y="${top + barsH + 14}">0</text>`);
  out.push(`<text x="${WIDTH - 10}" y="${top + barsH + 14}" text-anchor="end">${fmt(t.span)}</text>`);
  const half = (WIDTH - 30) / 2;
  chart(
    out,
    10,
    chartsTop,
    half,
    'chunk durations',
    t.histogram.counts,
    `0 – ${fmt(t.histogram.binMs * t.histogram.counts.length)}`,
    'histogram',
  );
  chart(
    out,
    20 + half,
    chartsTop,
    half,
    'chunks ended over time',
    t.throughput.counts,
    `0 – ${fmt(t.span)}`,
    'throughput',
  );
  out.push('</svg>');
  return out.join('\n');
}

/** The timeline as a self-contained HTML page (the SVG inline, no script). */
export function timelineHtml(t: Timeline): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fanfold job ${esc(t.jobId)}</title>
<style>body{font-family:sans-serif;margin:16px;color:#222}</style></head>
<body>
${timelineSvg(t)}
</body></html>
`;
}

/** A timeline as data, as an SVG document and as an HTML page: what `pool.timeline` returns. */
export interface TimelineView {
  /** The timeline as data. */
  readonly data: Timeline;
  /** The SVG drawing. */
  readonly svg: string;
  /** A self-contained HTML page. */
  readonly html: string;
}

/**
 * The view of the job `jobId` in `store` (drawn from its records alone); `undefined` when the store
 * has no such job. `pool.timeline` and `awsJobs().timeline` both call it.
 */
export async function readTimelineView(store: JobStore, jobId: string): Promise<TimelineView | undefined> {
  const data = await readTimeline(store, jobId);
  return data && { data, svg: timelineSvg(data), html: timelineHtml(data) };
}

function legend(out: string[], x0: number, y: number): void {
  let x = x0;
  for (const [name, colour] of Object.entries(OUTCOME_COLOURS)) {
    out.push(
      `<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${colour}"/><text x="${x + 14}" y="${y}">${name}</text>`,
    );
    x += 70;
  }
  out.push(
    `<rect x="${x}" y="${y - 9}" width="10" height="10" fill="#fff" stroke="${STRAGGLER_STROKE}" stroke-width="2"/><text x="${x + 14}" y="${y}">straggler</text>`,
  );
}

function chart(
  out: string[],
  x0: number,
  y0: number,
  w: number,
  title: string,
  counts: readonly number[],
  axis: string,
  cls: string,
): void {
  const max = Math.max(1, ...counts);
  const bw = w / counts.length;
  out.push(`<text x="${x0}" y="${y0 - 6}" font-weight="bold">${title} (max ${max})</text>`);
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${CHART}" fill="none" stroke="#ccc"/>`);
  counts.forEach((c, i) => {
    if (!c) return;
    const h = (c / max) * (CHART - 4);
    out.push(
      `<rect class="${cls}" x="${(x0 + i * bw + 1).toFixed(1)}" y="${(y0 + CHART - h).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="#7a8fa8"><title>${c}</title></rect>`,
    );
  });
  out.push(`<text x="${x0}" y="${y0 + CHART + 14}">${axis}</text>`);
}

/** A worker id short enough for a row label. */
function short(worker: string): string {
  return worker.length > 18 ? `…${worker.slice(-17)}` : worker;
}
