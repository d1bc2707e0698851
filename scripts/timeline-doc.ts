/**
 * Makes the timeline picture of docs/observability.md from a real local job: 48 chunks of varied
 * length on 4 threads, one chunk that crashes its thread once (a retry), one slow chunk near the
 * end (a straggler, backed up). Writes docs/images/timeline.svg, and docs/images/timeline.png as
 * headless Chromium renders the page (`CHROMIUM` or /usr/bin/chromium; skipped without one).
 *
 *   node --import tsx scripts/timeline-doc.ts
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { local } from 'fanfold';
import tasks from './timeline-tasks.js';

const out = join(import.meta.dirname, '..', 'docs', 'images');
const dir = mkdtempSync(join(tmpdir(), 'fanfold-timeline-'));
const pool = local({ tasks }).Pool({ processes: 4, stragglers: { tail: 0.1, factor: 3, minMs: 100 } });
try {
  // Lengths from a fixed pseudo-random sequence, so that the picture is the same shape every run.
  let seed = 7;
  const items = Array.from({ length: 48 }, (_, i) => {
    seed = (seed * 48271) % 2147483647;
    const ms = 40 + (seed % 80);
    if (i === 9) return { ms, crash: join(dir, 'crash') };
    if (i === 46) return { ms: 1500 };
    return { ms };
  });
  let jobId = '';
  await pool.map('work', items, { chunksize: 1, onProgress: (p) => (jobId = p.jobId) });
  const { svg, html, data } = await pool.timeline(jobId);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'timeline.svg'), `${svg}\n`);
  console.log(
    `job ${jobId}: ${data.bars.length} bars on ${data.rows.length} rows → docs/images/timeline.svg`,
  );
  const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    console.log(`no browser at ${chromium}: docs/images/timeline.png not made`);
  } else {
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({ executablePath: chromium, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 400 } });
      await page.setContent(html);
      await page.locator('svg').screenshot({ path: join(out, 'timeline.png') });
      console.log('→ docs/images/timeline.png');
    } finally {
      await browser.close();
    }
  }
} finally {
  await pool.terminate();
  rmSync(dir, { recursive: true, force: true });
}
