/**
 * The live dashboard from the command line: `fanfold dashboard` serves a stack's recent jobs until
 * interrupted; `fanfold run --dashboard` serves the pool jobs of the job module it runs, while it
 * runs. Both print the page's address on stderr; the server listens on 127.0.0.1 only.
 */
import type { JobProgress } from '../api/job.js';
import { observing } from '../api/job-observer.js';
import { pricesFromEnv } from '../views/prices.js';
import type { Command } from './args.js';
import { DashboardFeed } from './dashboard-feed.js';
import { type DashboardServer, startDashboardServer } from './dashboard-server.js';
import { RunJobs, stackSource } from './dashboard-sources.js';
import { type CliIO, ExitCodes } from './io.js';
import { failed, type OpenJobs, openStack } from './ops.js';
import { formatError } from './output.js';

/** How often a stack's dashboard reads the stack (each read lists it and reads its running jobs' records). */
const STACK_POLL_MS = 2_000;
/** How often a run's dashboard reads its pools (in memory, or the job's own stack). */
const RUN_POLL_MS = 500;

/** What {@link runDashboard} waits for before it stops; tests pass their own. */
export type StopSignal = Promise<unknown>;

/** Resolves at the first SIGINT or SIGTERM (Ctrl-C). */
function interrupted(): StopSignal {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(undefined);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * Runs `fanfold dashboard`: checks the stack answers (exit 3 when it does not exist), then serves
 * its dashboard until `stop` resolves (Ctrl-C); resolves to the exit code. `onListening` hears
 * the address (tests).
 */
export async function runDashboard(
  command: Extract<Command, { kind: 'dashboard' }>,
  io: CliIO,
  o: { open?: OpenJobs; stop?: StopSignal; onListening?: (url: string) => void } = {},
): Promise<number> {
  const ops = (o.open ?? openStack)(command);
  try {
    let source: ReturnType<typeof stackSource>;
    try {
      source = stackSource(ops, command.stack, command.limit, pricesFromEnv(io.env));
      await source.jobs(); // the stack exists and may be listed: say so now, not on the page
    } catch (e) {
      return failed(e, false, io);
    }
    const server = await listen(
      new DashboardFeed(source, STACK_POLL_MS / 2),
      command.port,
      STACK_POLL_MS,
      io,
    );
    if (!server) return ExitCodes.ERROR;
    io.stderr.write(
      `fanfold: the dashboard of stack ${command.stack} is at ${server.url} (Ctrl-C to stop)\n`,
    );
    o.onListening?.(server.url);
    await (o.stop ?? interrupted());
    await server.close();
    return ExitCodes.OK;
  } finally {
    ops.close();
  }
}

/** The dashboard of a `fanfold run`: see {@link startRunDashboard}. */
export interface RunDashboard {
  /** The `onProgress` to hand the job: reports to `update` and shows the job on the page. */
  readonly onProgress: (p: JobProgress) => void;
  /** The page's address. */
  readonly url: string;
  /** The job module ended: lets the open pages read the final state (3 s at most), then stops. */
  finish(): Promise<void>;
}

/**
 * Starts the dashboard of a `fanfold run` on `port`; undefined (after saying why on stderr) when
 * the port cannot be listened on.
 */
export async function startRunDashboard(
  title: string,
  port: number,
  update: (p: JobProgress) => void,
  io: CliIO,
): Promise<RunDashboard | undefined> {
  const jobs = new RunJobs(title, update);
  const feed = new DashboardFeed(jobs, RUN_POLL_MS / 2);
  const server = await listen(feed, port, RUN_POLL_MS, io);
  if (!server) return undefined;
  return {
    onProgress: observing(update, jobs.hook),
    url: server.url,
    async finish() {
      feed.end();
      await server.servedFinal(RUN_POLL_MS * 4, 3_000);
      await server.close();
    },
  };
}

async function listen(
  feed: DashboardFeed,
  port: number,
  pollMs: number,
  io: CliIO,
): Promise<DashboardServer | undefined> {
  try {
    return await startDashboardServer(feed, { port, pollMs });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const why = code === 'EADDRINUSE' ? 'the port is in use; choose another with --port' : formatError(e);
    io.stderr.write(`fanfold: Cannot serve the dashboard on 127.0.0.1:${port}: ${why}\n`);
    return undefined;
  }
}
