/**
 * The live dashboard's HTTP server, on 127.0.0.1 only: `GET /` is the page (dashboard-page.ts),
 * `GET /api/jobs` the current {@link DashboardSnapshot} as JSON. Requests naming another host
 * are refused, so that a web page elsewhere cannot reach it through a name that resolves here
 * (DNS rebinding); the page may run only its own script (a nonce per response) and reach only
 * this server.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dashboardHtml } from '../views/dashboard-page.js';
import type { DashboardFeed } from './dashboard-feed.js';
import { errorFields } from './output.js';

/** The host the dashboard listens on: this machine only. */
export const DASHBOARD_HOST = '127.0.0.1';

/** Options of {@link startDashboardServer}. */
export interface DashboardServerOptions {
  /** The port; 0 takes a free one. */
  readonly port: number;
  /** How often the page reads the snapshot, in ms. */
  readonly pollMs: number;
}

/** A running dashboard server. */
export interface DashboardServer {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /**
   * Resolves once every page that read a snapshot in the last `recentMs` has read an ended one
   * (`ended: true`: it shows the final state), or after `maxMs`, whichever comes first.
   */
  servedFinal(recentMs: number, maxMs: number): Promise<void>;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

/**
 * Starts the server.
 *
 * @throws the listen error (`EADDRINUSE` for a port in use) as Node reports it.
 * @example
 * ```ts
 * const server = await startDashboardServer(feed, { port: 0, pollMs: 1000 });
 * console.log(server.url);
 * ```
 */
export async function startDashboardServer(
  feed: DashboardFeed,
  options: DashboardServerOptions,
): Promise<DashboardServer> {
  /** When each page (by the id its script sends) last read a snapshot, and whether an ended one. */
  const reads = new Map<string, { at: number; ended: boolean }>();
  const waiters = new Set<() => void>();
  let port = 0;
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) =>
      send(res, 500, 'application/json', JSON.stringify({ error: errorFields(e) })),
    );
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const allowed = [`${DASHBOARD_HOST}:${port}`, `localhost:${port}`];
    if (!allowed.includes(req.headers.host ?? '')) {
      return send(
        res,
        403,
        'text/plain',
        `Refused: this dashboard answers only to ${allowed.join(' or ')}\n`,
      );
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain', 'Only GET and HEAD\n');
    }
    const url = new URL(req.url ?? '/', `http://${DASHBOARD_HOST}`);
    const path = url.pathname;
    if (path === '/') {
      const nonce = randomBytes(16).toString('base64');
      res.setHeader(
        'Content-Security-Policy',
        `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; ` +
          "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      );
      return send(res, 200, 'text/html; charset=utf-8', dashboardHtml({ nonce, pollMs: options.pollMs }));
    }
    if (path === '/api/jobs') {
      const snapshot = await feed.snapshot();
      const page = url.searchParams.get('page');
      if (page) {
        reads.set(page.slice(0, 64), { at: Date.now(), ended: snapshot.ended });
        for (const wake of waiters) wake();
      }
      return send(res, 200, 'application/json', JSON.stringify(snapshot));
    }
    return send(res, 404, 'text/plain', 'Not found: the dashboard is / and its data /api/jobs\n');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, DASHBOARD_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${DASHBOARD_HOST}:${port}/`,
    port,
    async servedFinal(recentMs, maxMs) {
      const since = Date.now();
      const pages = [...reads].filter(([, r]) => since - r.at <= recentMs).map(([k]) => k);
      const done = () => pages.every((k) => reads.get(k)?.ended === true);
      if (done()) return;
      await new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const check = () => {
          if (done()) finish();
        };
        const timer = setTimeout(finish, maxMs);
        waiters.add(check);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
