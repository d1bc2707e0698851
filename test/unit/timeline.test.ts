/**
 * The timeline's data and drawing (src/views): one bar per recorded chunk attempt on its worker
 * thread's row, coloured by outcome, stragglers marked, histogram and throughput counting every
 * attempt, and an SVG that stands alone.
 */
import { describe, expect, it } from 'vitest';
import type { ChunkAttempt, JobRecord } from '../../src/ports.js';
import { buildTimeline, HISTOGRAM_BINS, THROUGHPUT_STEPS } from '../../src/views/timeline.js';
import { OUTCOME_COLOURS, timelineHtml, timelineSvg } from '../../src/views/timeline-svg.js';

const createdAt = 1_700_000_000_000;
const job: JobRecord = {
  id: 'job-<1>&',
  kind: 'map',
  task: 'square',
  deadline: createdAt + 60_000,
  status: 'DONE',
  done: 6,
  total: 7,
  version: 9,
  createdAt,
  shards: 1,
};

const at = (
  worker: string,
  thread: number,
  start: number,
  ms: number,
  extra: Partial<ChunkAttempt> = {},
) => ({
  worker,
  thread,
  startedAt: createdAt + start,
  ms,
  attempt: 1,
  ...extra,
});

// Six recorded chunks of seven: a retry on b#1, a straggler (100 ms against a 10 ms median) and its backup.
const attempts = new Map<number, ChunkAttempt>([
  [0, at('host-b', 2, 0, 10)],
  [1, at('host-a', 1, 0, 10)],
  [2, at('host-a', 1, 10, 12)],
  [3, at('host-b', 1, 5, 9, { attempt: 2 })],
  [4, at('host-a', 2, 0, 100)],
  [6, at('host-b', 2, 20, 10, { backup: true })],
]);

describe('buildTimeline', () => {
  const t = buildTimeline(job, attempts);

  it('puts one bar per recorded attempt on its worker thread row, rows sorted by worker then thread', () => {
    expect(t.rows).toEqual([
      { worker: 'host-a', thread: 1 },
      { worker: 'host-a', thread: 2 },
      { worker: 'host-b', thread: 1 },
      { worker: 'host-b', thread: 2 },
    ]);
    expect(t.bars.map((b) => [b.index, b.row, b.start, b.ms])).toEqual([
      [0, 3, 0, 10],
      [1, 0, 0, 10],
      [2, 0, 10, 12],
      [3, 2, 5, 9],
      [4, 1, 0, 100],
      [6, 3, 20, 10],
    ]);
    expect(t.missing).toBe(1);
    expect(t.span).toBe(100);
  });

  it('tells first deliveries, retries and backups apart and marks stragglers against the median', () => {
    expect(t.medianMs).toBe(10);
    expect(Object.fromEntries(t.bars.map((b) => [b.index, b.outcome]))).toEqual({
      0: 'ok',
      1: 'ok',
      2: 'ok',
      3: 'retried',
      4: 'ok',
      6: 'backup',
    });
    expect(t.bars.filter((b) => b.straggler).map((b) => b.index)).toEqual([4]);
  });

  it('counts every attempt once in the histogram and in the throughput', () => {
    expect(t.histogram.counts).toHaveLength(HISTOGRAM_BINS);
    expect(t.histogram.binMs).toBe(100 / HISTOGRAM_BINS);
    expect(t.histogram.counts.reduce((a, b) => a + b)).toBe(6);
    expect(t.histogram.counts.at(-1)).toBe(1); // the 100 ms straggler, in the last bin
    expect(t.throughput.counts).toHaveLength(THROUGHPUT_STEPS);
    expect(t.throughput.counts.reduce((a, b) => a + b)).toBe(6);
  });

  it('keeps the error of a failed job and draws an empty job', () => {
    const failed = buildTimeline(
      { ...job, status: 'FAILED', error: { name: 'Error', message: 'boom', reason: 'task' } },
      new Map(),
    );
    expect(failed.error).toBe('boom');
    expect(failed.bars).toEqual([]);
    expect(failed.missing).toBe(7);
    expect(timelineSvg(failed)).not.toContain('class="bar"');
  });
});

describe('timelineSvg and timelineHtml', () => {
  const t = buildTimeline(job, attempts);
  const svg = timelineSvg(t);

  it('draws one bar per chunk attempt, with its index, attempt and outcome colour', () => {
    const bars = [...svg.matchAll(/<rect class="bar" ([^>]*)>/g)].map((m) => m[1]!);
    expect(bars).toHaveLength(attempts.size);
    const byIndex = new Map(bars.map((b) => [Number(/data-index="(\d+)"/.exec(b)![1]), b]));
    expect([...byIndex.keys()]).toEqual([0, 1, 2, 3, 4, 6]);
    expect(byIndex.get(3)).toContain('data-attempt="2"');
    expect(byIndex.get(3)).toContain(`fill="${OUTCOME_COLOURS.retried}"`);
    expect(byIndex.get(6)).toContain(`fill="${OUTCOME_COLOURS.backup}"`);
    expect(byIndex.get(4)).toContain('data-straggler="true"');
    expect(byIndex.get(1)).not.toContain('data-straggler');
  });

  it('stands alone: no script, no external reference, text escaped', () => {
    const html = timelineHtml(t);
    for (const doc of [svg, html]) {
      expect(doc).not.toMatch(/<script|href=|src=|url\(/i);
      expect(doc.replace('http://www.w3.org/2000/svg', '')).not.toContain('http');
      expect(doc).not.toContain('job-<1>&');
    }
    expect(svg).toContain('job-&#60;1&#62;&#38;');
    expect(html.startsWith('<!doctype html>')).toBe(true);
  });
});
