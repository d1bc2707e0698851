/**
 * The live dashboard's page: one self-contained HTML document (its style and script inline,
 * nothing fetched but its own `/api/jobs`) that polls the snapshot and redraws the jobs. Every
 * value from a job record reaches the page through `textContent`, never as markup, so an error
 * message holding `<script>` shows as text; the server's Content-Security-Policy (scripts only
 * with the page's nonce) is a second wall behind that one.
 */

/** Options of {@link dashboardHtml}. */
export interface DashboardPageOptions {
  /** The nonce of the inline style and script (the server's Content-Security-Policy names it). */
  readonly nonce: string;
  /** How often the page reads the snapshot, in ms. */
  readonly pollMs: number;
}

/** Escapes text for HTML. */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font-family:sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:18px;margin:0 0 4px}
#meta{color:#555;font-size:12px;margin-bottom:10px}
#state.bad{color:#c8342c;font-weight:bold}
#totals span{display:inline-block;margin-right:18px;font-size:14px}
#cost{font-size:12px;color:#555;margin:6px 0 12px;border-left:3px solid #ccc;padding-left:6px}
table{border-collapse:collapse;width:100%;font-size:13px;background:#fff}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e4e4e4;vertical-align:top;white-space:nowrap}
th{background:#f0f0f0;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.status{font-weight:bold;padding:1px 6px;border-radius:3px;color:#fff;font-size:11px}
.RUNNING,.FOLDING{background:#4a78c8}.DONE{background:#4c9a5b}.FAILED{background:#c8342c}.CANCELLED{background:#888}
.bar{width:120px;height:8px;background:#e4e4e4;border-radius:4px;overflow:hidden;margin-top:3px}
.bar div{height:100%;background:#4c9a5b}
.failure{background:#fff;border:1px solid #e6b4b0;border-left:4px solid #c8342c;margin:10px 0;padding:6px 10px}
.failure pre{white-space:pre-wrap;font-size:12px;background:#f7f1f0;padding:6px;margin:6px 0 0}
code{font-size:12px}
#legend{font-size:11px;color:#666}`;

/**
 * The script, run in the browser. It knows the snapshot's shape (`DashboardSnapshot`) and builds
 * every element with `el()`, which sets text, never HTML.
 */
const SCRIPT = `
const POLL_MS = Number(document.body.dataset.pollMs);
// Names this page to the server, which then knows when each open page has seen the final state.
const PAGE = Math.random().toString(36).slice(2);
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
const secs = (ms) => ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
const when = (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + 'Z';
const live = (j) => j.status === 'RUNNING' || j.status === 'FOLDING';
function row(j) {
  const a = j.attempts;
  const pct = j.total ? Math.min(100, (j.done / j.total) * 100) : 0;
  const fill = el('div');
  fill.style.width = pct.toFixed(1) + '%';
  return el('tr', { 'data-job-id': j.id, 'data-status': j.status },
    el('td', {}, el('code', { title: j.id }, j.id.slice(0, 8))),
    el('td', {}, el('span', { class: 'status ' + j.status, 'data-field': 'status' }, j.status)),
    el('td', { 'data-field': 'task' }, j.kind + ' of ' + j.task + (j.reducer ? ' → ' + j.reducer : '')),
    el('td', { class: 'num' }, el('span', { 'data-field': 'chunks' }, j.done + '/' + (j.total ?? '?')), el('div', { class: 'bar' }, fill)),
    el('td', { class: 'num', 'data-field': 'throughput' }, j.chunksPerSecond + ' chunks/s' + (a && live(j) ? ' (last ' + a.activeWindowMs / 1000 + ' s: ' + a.recentChunksPerSecond + ')' : '')),
    el('td', { class: 'num', 'data-field': 'workers' }, a ? (live(j) ? a.workersActive + ' busy / ' : '') + a.workers + ' ran' : '—'),
    el('td', { class: 'num', 'data-field': 'stragglers' }, a ? a.stragglers + ' slow, ' + a.backups + ' backups' : '—'),
    el('td', { class: 'num', 'data-field': 'retries' }, a ? a.retried : '—'),
    el('td', { 'data-field': 'started' }, when(j.createdAt)),
    el('td', { class: 'num', 'data-field': 'duration' }, secs(j.elapsedMs) + (live(j) ? ' (running)' : '')),
    el('td', { class: 'num', 'data-field': 'cost' }, j.cost === null ? '—' : '$' + (j.cost < 0.01 ? j.cost.toPrecision(2) : j.cost.toFixed(2))));
}
function failure(j) {
  const e = j.error;
  const where = [e.chunkIndex === undefined ? '' : 'chunk ' + e.chunkIndex, e.itemIndex === undefined ? '' : 'item ' + e.itemIndex].filter(Boolean).join(', ');
  return el('div', { class: 'failure', 'data-job-id': j.id },
    el('div', {}, el('code', {}, j.id), ' ', el('span', { class: 'status ' + j.status }, j.status), ' · ' + j.task),
    el('div', { 'data-field': 'error' }, e.name + (e.code ? ' [' + e.code + ']' : '') + ': ' + e.message + (where ? ' (' + where + ')' : '')),
    e.remoteStack ? el('pre', { 'data-field': 'remote-stack' }, e.remoteStack) : '');
}
function draw(s) {
  $('title').textContent = 'fanfold dashboard · ' + s.title;
  document.title = 'fanfold dashboard · ' + s.title;
  const t = s.totals;
  $('totals').replaceChildren(
    el('span', { 'data-total': 'running' }, t.running + ' running'),
    el('span', { 'data-total': 'done' }, t.done + ' done'),
    el('span', { 'data-total': 'failed' }, t.failed + ' failed or cancelled'),
    el('span', { 'data-total': 'workers' }, t.workersActive + (t.workersActive === 1 ? ' worker' : ' workers') + ' busy'));
  $('cost').textContent = 'Cost so far: ' + s.costNote;
  $('jobs').replaceChildren(...s.jobs.map(row));
  $('empty').hidden = s.jobs.length > 0;
  $('failures').replaceChildren(...s.jobs.filter((j) => j.error).map(failure));
  $('state').className = s.error ? 'bad' : '';
  $('state').textContent = (s.error ? 'reading the jobs failed: ' + s.error.message + ' · showing the last read · ' : '') +
    (s.ended ? 'the run has ended: final state' : 'updated ' + when(s.at));
}
async function poll() {
  let ended = false;
  try {
    const r = await fetch('api/jobs?page=' + PAGE, { cache: 'no-store' });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const s = await r.json();
    draw(s);
    ended = s.ended;
  } catch (e) {
    $('state').className = 'bad';
    $('state').textContent = 'disconnected (' + e.message + '); the last state read stays shown';
  }
  if (!ended) setTimeout(poll, POLL_MS);
}
poll();`;

/**
 * The dashboard's HTML: static (no job data in it), filled in by its script from `api/jobs`.
 *
 * @example
 * ```ts
 * res.end(dashboardHtml({ nonce, pollMs: 1000 }));
 * ```
 */
export function dashboardHtml(o: DashboardPageOptions): string {
  const nonce = esc(o.nonce);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fanfold dashboard</title>
<style nonce="${nonce}">${STYLE}</style></head>
<body data-poll-ms="${Math.max(50, Math.round(o.pollMs))}">
<h1 id="title">fanfold</h1>
<div id="meta"><span id="state">connecting…</span></div>
<div id="totals"></div>
<div id="cost"></div>
<table><thead><tr><th>job</th><th>status</th><th>task</th><th>chunks</th><th>throughput</th><th>workers</th><th>stragglers</th><th>retries</th><th>started</th><th>duration</th><th>cost</th></tr></thead>
<tbody id="jobs"></tbody></table>
<p id="empty">No jobs yet.</p>
<p id="legend">throughput: chunks a second since the job started (and over the last 5 s while it runs) ·
workers: threads that recorded a chunk in the last 5 s (busy) / that ran any of its chunks · stragglers: chunks that ran
at least twice the median chunk time, and backups that won · retries: chunks recorded on a redelivery</p>
<div id="failures"></div>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>
`;
}
