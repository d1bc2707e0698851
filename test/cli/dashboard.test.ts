/**
 * The live dashboard without a browser: its command line (`dashboard`, `run --dashboard`,
 * `--port`), its server (127.0.0.1 only, other hosts refused, its routes and headers, a port in
 * use) and its feed (one read of the source per interval, the last jobs kept when a read fails,
 * an ended job's attempts read once). The page in a browser: test/local/dashboard-browser.test.ts;
 * on the runner: test/e2e/dashboard.test.ts.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobInfo } from '../../src/api/job-info.js';
import type { JobOperations } from '../../src/aws/operations.js';
import { runDashboard } from '../../src/cli/dashboard.js';
import { DashboardFeed, type DashboardSnapshot, type DashboardSource } from '../../src/cli/dashboard-feed.js';
import { type DashboardServer, startDashboardServer } from '../../src/cli/dashboard-server.js';
import { STACK_ATTEMPTS_EVERY_MS, stackSource } from '../../src/cli/dashboard-sources.js';
import { ExitCodes, main, parseArgs } from '../../src/cli/main.js';
import { JobNotFoundError, StackNotFoundError } from '../../src/errors.js';
import { jobCost } from '../../src/views/cost.js';
import { LIST_PRICES } from '../../src/views/prices.js';
import { buildTimeline, type Timeline } from '../../src/views/timeline.js';
import { timelineHtml, timelineSvg } from '../../src/views/timeline-svg.js';
import { Capture } from '../support/capture.js';

const T0 = Date.UTC(2026, 11, 8, 0, 0, 0);

function info(over: Partial<JobInfo> & { id: string }): JobInfo {
  return {
    kind: 'map',
    task: 'square',
    status: 'RUNNING',
    done: 1,
    total: 4,
    createdAt: T0,
    endedAt: undefined,
    deadline: T0 + 60_000,
    retries: 0,
    backups: 0,
    ...over,
  };
}

/** A source over fixed jobs that counts its reads; `fail` makes the next reads throw. */
class CountingSource implements DashboardSource {
  readonly title = 'test';
  readonly costNote = 'none';
  reads = 0;
  timelines = 0;
  fail: Error | undefined;
  constructor(public list: JobInfo[]) {}
  async jobs() {
    this.reads++;
    if (this.fail) throw this.fail;
    return this.list;
  }
  async timeline(id: string): Promise<Timeline> {
    this.timelines++;
    const j = this.list.find((x) => x.id === id);
    if (!j) throw new JobNotFoundError(id);
    const record = { ...j, shards: 1, version: 1, maxAttempts: 3, chunksize: 1 } as never;
    return buildTimeline(
      record,
      new Map([
        [0, { worker: 'w', thread: 1, startedAt: Date.now() - 100, ms: 50, attempt: 1 }],
        [1, { worker: 'w', thread: 2, startedAt: T0, ms: 200, attempt: 2 }],
        [2, { worker: 'w', thread: 1, startedAt: T0, ms: 50, attempt: 1 }],
      ]),
    );
  }
}

async function cli(...argv: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(argv, { stdout, stderr, cwd: '.', env: {} });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('fanfold dashboard (command line)', () => {
  it('parses dashboard and run --dashboard, with --port 0 (any free port) by default', () => {
    expect(parseArgs(['dashboard'], { FANFOLD_STACK: 'Other' })).toEqual({
      kind: 'dashboard',
      port: 0,
      limit: 20,
      stack: 'Other',
      region: undefined,
    });
    expect(parseArgs(['dashboard', '--port', '8080', '--limit', '5', '--stack', 'S'])).toMatchObject({
      port: 8080,
      limit: 5,
      stack: 'S',
    });
    expect(parseArgs(['run', 'job.ts', '--dashboard'])).toMatchObject({ dashboard: { port: 0 } });
    expect(parseArgs(['run', 'job.ts', '--dashboard', '--port=65535'])).toMatchObject({
      dashboard: { port: 65535 },
    });
    expect(parseArgs(['run', 'job.ts'])).not.toHaveProperty('dashboard');
  });

  it.each([
    [['dashboard', '--port', '70000'], '"70000"'],
    [['dashboard', '--port', '-1'], '"-1"'],
    [['dashboard', '--port', 'http'], '"http"'],
    [['run', 'job.ts', '--dashboard', '--port', '80.5'], '"80.5"'],
  ])('exits 2 for %j, naming --port, what it takes and the value', async (argv, got) => {
    const { code, stderr } = await cli(...argv);
    expect(code).toBe(ExitCodes.USAGE);
    expect(stderr).toContain(
      `Expected --port to be a TCP port, an integer from 0 (any free port) to 65535, got ${got}`,
    );
  });

  it('exits 2 for --port without --dashboard on run', async () => {
    const { code, stderr } = await cli('run', 'job.ts', '--port', '8080');
    expect(code).toBe(ExitCodes.USAGE);
    expect(stderr).toContain('Expected --port to come with --dashboard, got --port 8080 alone');
  });

  it('is listed by --help', async () => {
    const { stdout } = await cli('--help');
    expect(stdout).toContain('fanfold dashboard [--stack NAME] [--region R] [--port P] [--limit N]');
    expect(stdout).toMatch(/^ {2}dashboard serve a live page/m);
    expect(stdout).toMatch(/^ {6}--dashboard {5}run: serve the live dashboard/m);
  });
});

/** Operations over a CountingSource's jobs, or failing as a missing stack does. */
function fakeOps(source: CountingSource, missing = false): JobOperations {
  const no = () => Promise.reject(new Error('not used here'));
  return {
    list: async () => {
      if (missing) throw new StackNotFoundError('Gone', 'Stack with id Gone does not exist');
      return source.jobs();
    },
    inspect: no,
    attach: no,
    cancel: no,
    timeline: async (id) => {
      const data = await source.timeline(id);
      return { data, svg: timelineSvg(data), html: timelineHtml(data) };
    },
    report: no,
    close: () => {},
  };
}

describe('fanfold run --dashboard', () => {
  const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/cli');
  const run = async (...argv: string[]) => {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await main(argv, { stdout, stderr, cwd: fixtures, env: {} });
    return { code, stdout: stdout.text, stderr: stderr.text };
  };

  it('serves while a failing job runs, then closes and exits 1 as without it', async () => {
    const { code, stderr } = await run('run', 'failing.job.ts', '--dashboard');
    expect(code).toBe(ExitCodes.JOB_FAILED);
    const url = /the dashboard of this run is at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1];
    expect(url).toBeDefined();
    expect(stderr).toContain('seven is not allowed');
    await expect(fetch(`${url}api/jobs`)).rejects.toThrow(); // closed with the run
  });

  it('exits 5 before running the job when the port is taken', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const port = String((busy.address() as AddressInfo).port);
      const { code, stderr, stdout } = await run('run', 'squares.job.ts', '--dashboard', '--port', port);
      expect(code).toBe(ExitCodes.ERROR);
      expect(stderr).toContain(`Cannot serve the dashboard on 127.0.0.1:${port}: the port is in use`);
      expect(stderr).not.toContain('summing'); // the job never ran
      expect(stdout).toBe('');
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });
});

describe('the dashboard server', () => {
  const open: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  async function serve(source: DashboardSource): Promise<DashboardServer> {
    const server = await startDashboardServer(new DashboardFeed(source, 100), { port: 0, pollMs: 1000 });
    open.push(server);
    return server;
  }

  it('serves the page and the snapshot on 127.0.0.1, with a script nonce the CSP names', async () => {
    const source = new CountingSource([info({ id: 'a' })]);
    const server = await serve(source);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    const html = await page.text();
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).not.toContain('square'); // no job data in the page itself: its script fetches it

    const res = await fetch(`${server.url}api/jobs`);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const snap = (await res.json()) as DashboardSnapshot;
    expect(snap).toMatchObject({
      title: 'test',
      costNote: 'none',
      ended: false,
      totals: { running: 1, done: 0, failed: 0, workersActive: 1 },
      jobs: [{ id: 'a', status: 'RUNNING', done: 1, total: 4, cost: null }],
    });
    expect(snap.jobs[0]?.attempts).toEqual({
      workers: 2,
      workersActive: 1,
      recentChunksPerSecond: 0.2,
      activeWindowMs: 5000,
      retried: 1,
      backups: 0,
      stragglers: 1,
      medianMs: 50,
    });
  });

  it('refuses another Host (DNS rebinding), other methods and other paths', async () => {
    const server = await serve(new CountingSource([]));
    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path, method, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get('/api/jobs', { Host: 'attacker.example' })).toBe(403);
    expect(await get('/api/jobs', { Host: `localhost:${server.port}` })).toBe(200);
    expect(await get('/api/jobs', {}, 'POST')).toBe(405);
    expect(await get('/nothing-here')).toBe(404);
  });

  it('says a port is in use and exits 5', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise((r) => busy.close(r)) });
    const port = (busy.address() as AddressInfo).port;
    const stderr = new Capture();
    const code = await runDashboard(
      { kind: 'dashboard', port, limit: 20, stack: 'S', region: undefined },
      { stdout: new Capture(), stderr, cwd: '.', env: {} },
      { open: () => fakeOps(new CountingSource([])), stop: Promise.resolve() },
    );
    expect(code).toBe(ExitCodes.ERROR);
    expect(stderr.text).toContain(`Cannot serve the dashboard on 127.0.0.1:${port}: the port is in use`);
  });

  it('exits 3 for a stack that does not exist, before serving anything', async () => {
    const stderr = new Capture();
    let listened = false;
    const code = await runDashboard(
      { kind: 'dashboard', port: 0, limit: 20, stack: 'Gone', region: undefined },
      { stdout: new Capture(), stderr, cwd: '.', env: {} },
      { open: () => fakeOps(new CountingSource([]), true), onListening: () => (listened = true) },
    );
    expect(code).toBe(ExitCodes.NOT_FOUND);
    expect(stderr.text).toContain('ERR_FANFOLD_STACK_NOT_FOUND');
    expect(listened).toBe(false);
  });

  it('serves a stack until stopped, then exits 0', async () => {
    const source = new CountingSource([info({ id: 'a' })]);
    const stderr = new Capture();
    let stop!: () => void;
    let url = '';
    const done = runDashboard(
      { kind: 'dashboard', port: 0, limit: 7, stack: 'S', region: undefined },
      { stdout: new Capture(), stderr, cwd: '.', env: {} },
      {
        open: () => fakeOps(source),
        stop: new Promise<void>((r) => (stop = r)),
        onListening: (u) => (url = u),
      },
    );
    await expect.poll(() => url, { timeout: 30_000 }).not.toBe('');
    expect(stderr.text).toContain(`the dashboard of stack S is at ${url} (Ctrl-C to stop)`);
    expect(((await (await fetch(`${url}api/jobs`)).json()) as { title: string }).title).toBe('stack S');
    stop();
    expect(await done).toBe(ExitCodes.OK);
    await expect(fetch(`${url}api/jobs`)).rejects.toThrow();
  });
});

describe('the dashboard feed', () => {
  it('reads the source once per interval, however many ask', async () => {
    const source = new CountingSource([info({ id: 'a' })]);
    const feed = new DashboardFeed(source, 60_000);
    const [a, b] = await Promise.all([feed.snapshot(), feed.snapshot()]);
    expect(a).toBe(b);
    expect(await feed.snapshot()).toBe(a);
    expect(source.reads).toBe(1);
  });

  it('keeps the last jobs and says why when a read fails', async () => {
    const source = new CountingSource([info({ id: 'a' })]);
    const feed = new DashboardFeed(source, 0);
    await feed.snapshot();
    source.fail = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    const snap = await feed.snapshot(Date.now() + 1);
    expect(snap.error).toMatchObject({ name: 'ThrottlingException', message: 'throttled' });
    expect(snap.jobs.map((j) => j.id)).toEqual(['a']);
    expect(snap.jobs[0]).toMatchObject({ status: 'RUNNING', cost: null });
  });

  it("reads an ended job's attempts once, a running job's at every read; marks the end", async () => {
    const source = new CountingSource([
      info({ id: 'run' }),
      info({ id: 'end', status: 'DONE', done: 4, endedAt: T0 + 1000 }),
    ]);
    const feed = new DashboardFeed(source, 0);
    await feed.snapshot();
    await feed.snapshot(Date.now() + 1);
    expect(source.timelines).toBe(3); // run twice, end once
    feed.end();
    const last = await feed.snapshot();
    expect(last.ended).toBe(true);
    const ended = last.jobs.find((j) => j.id === 'end')!;
    expect(ended.attempts).toMatchObject({ workers: 2, workersActive: 0, recentChunksPerSecond: 0 });
    expect(ended).toMatchObject({ elapsedMs: 1000, chunksPerSecond: 4 });
  });

  it("reads a running job's attempts again only after the source's attemptsEveryMs", async () => {
    const source = Object.assign(new CountingSource([info({ id: 'run' })]), { attemptsEveryMs: 60_000 });
    const feed = new DashboardFeed(source, 0);
    const first = await feed.snapshot();
    const second = await feed.snapshot(Date.now() + 1);
    expect(source.reads).toBe(2);
    expect(source.timelines).toBe(1);
    expect(second.jobs[0]?.attempts).toEqual(first.jobs[0]?.attempts);
  });

  it('shows a stack through its listing, newest first as listed, titled by the stack', async () => {
    const source = new CountingSource([info({ id: 'b', createdAt: T0 + 1 }), info({ id: 'a' })]);
    const s = stackSource(fakeOps(source), 'Fanfold', 5);
    expect(s.title).toBe('stack Fanfold');
    expect(s.attemptsEveryMs).toBe(STACK_ATTEMPTS_EVERY_MS);
    expect((await s.jobs()).map((j) => j.id)).toEqual(['b', 'a']);
  });

  it('gives a stack job its cost at the prices it is told, and says which prices', async () => {
    const source = new CountingSource([info({ id: 'a', done: 4, total: 4, meanChunkMs: 200 })]);
    const prices = { ...LIST_PRICES, region: 'eu-west-1', date: '2027-01-15' };
    const s = stackSource(fakeOps(source), 'Fanfold', 5, prices);
    expect(s.costNote).toContain('eu-west-1 list prices of 2027-01-15');
    const snap = await new DashboardFeed(s, 0).snapshot();
    const job = snap.jobs[0]!;
    expect(job.cost).toBe(jobCost(job, { prices }).usd.total);
    expect(job.cost).toBeGreaterThan(0);
    // Twice the chunk time costs more compute.
    expect(s.cost?.({ ...job, meanChunkMs: 400 })).toBeGreaterThan(job.cost!);
  });
});
