/**
 * The commands that operate a deployed stack's jobs: `fanfold jobs`, `status JOB`, `attach JOB`,
 * `cancel JOB` and `timeline JOB`, over `awsJobs({ stack })`. Each prints text for a human, or one JSON object
 * with `--json`; each maps what happened to one of the {@link ExitCodes}.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type JobInfo, jobRates as rates } from '../api/job-info.js';
import { awsJobs, type JobOperations } from '../aws/operations.js';
import { type CostReport, DEFAULT_MEMORY_MB, DEFAULT_THREADS } from '../views/cost.js';
import { pricesFromEnv } from '../views/prices.js';
import type { Command, StackTarget } from './args.js';
import { costRows, formatRows } from './cost-text.js';
import { type CliIO, ExitCodes } from './io.js';
import {
  errorFields,
  formatError,
  jsonReplacer,
  number,
  round,
  seconds,
  timestamp,
  useColor,
} from './output.js';
import { createProgress } from './progress.js';

type OpsCommand = Extract<Command, { kind: 'jobs' | 'status' | 'attach' | 'cancel' | 'timeline' }>;

/** Makes the operations of a stack; tests pass their own. */
export type OpenJobs = (target: StackTarget) => JobOperations;

/** The operations of a deployed stack, from the SDK's credentials and region. */
export const openStack: OpenJobs = (t) =>
  awsJobs({ stack: t.stack, ...(t.region ? { region: t.region } : {}) });

/** Runs one operations command; resolves to the exit code. */
export async function runOps(command: OpsCommand, io: CliIO, open: OpenJobs = openStack): Promise<number> {
  const jobs = open(command);
  try {
    switch (command.kind) {
      case 'jobs': {
        const list = await jobs.list({ limit: command.limit });
        io.stdout.write(
          command.json ? `${JSON.stringify({ ok: true, jobs: list.map(withRates) })}\n` : table(list),
        );
        return ExitCodes.OK;
      }
      case 'status': {
        const { job, cost } = await jobs.report(command.jobId, { prices: pricesFromEnv(io.env) });
        io.stdout.write(
          command.json ? `${JSON.stringify({ ok: true, job: withRates(job), cost })}\n` : status(job, cost),
        );
        return ended(job) ? ExitCodes.JOB_FAILED : ExitCodes.OK;
      }
      case 'cancel': {
        const job = await jobs.cancel(command.jobId, command.reason);
        io.stdout.write(
          command.json
            ? `${JSON.stringify({ ok: true, job: withRates(job) })}\n`
            : `job ${job.id}: ${job.status}\n`,
        );
        return ExitCodes.OK;
      }
      case 'attach':
        return await attach(command, jobs, io);
      case 'timeline':
        return await timeline(command, jobs, io);
    }
  } catch (e) {
    return failed(e, command.json, io);
  } finally {
    jobs.close();
  }
}

async function attach(command: Extract<OpsCommand, { kind: 'attach' }>, jobs: JobOperations, io: CliIO) {
  const progress = createProgress({ stream: io.stderr, color: useColor(io.stderr, io.env) });
  let result: unknown;
  try {
    result = await jobs.attach(command.jobId, { onProgress: progress.update, release: command.release });
  } catch (e) {
    progress.end({ error: e });
    throw e;
  }
  progress.end();
  const text = JSON.stringify(result, jsonReplacer);
  if (command.out !== undefined) {
    writeFileSync(resolve(io.cwd, command.out), `${text}\n`);
    if (!command.json)
      io.stderr.write(`fanfold: wrote the results of job ${command.jobId} to ${command.out}\n`);
  }
  if (command.json) {
    const body = {
      ok: true,
      jobId: command.jobId,
      ...(command.out === undefined ? { result } : { out: command.out }),
    };
    io.stdout.write(`${JSON.stringify(body, jsonReplacer)}\n`);
  } else if (command.out === undefined) io.stdout.write(`${text}\n`);
  return ExitCodes.OK;
}

/** `fanfold timeline JOB`: the page and the SVG that `pool.timeline` makes, to the files asked for. */
async function timeline(command: Extract<OpsCommand, { kind: 'timeline' }>, jobs: JobOperations, io: CliIO) {
  const view = await jobs.timeline(command.jobId);
  const written: string[] = [];
  if (command.out !== undefined) {
    writeFileSync(resolve(io.cwd, command.out), view.html);
    written.push(command.out);
  }
  if (command.svg !== undefined) {
    writeFileSync(resolve(io.cwd, command.svg), view.svg);
    written.push(command.svg);
  }
  const { data } = view;
  if (command.json) {
    const body = {
      ok: true,
      jobId: command.jobId,
      ...(command.out === undefined ? {} : { out: command.out }),
      ...(command.svg === undefined ? {} : { svg: command.svg }),
      status: data.status,
      attempts: data.bars.length,
      rows: data.rows.length,
      missing: data.missing,
      spanMs: round(data.span),
    };
    io.stdout.write(`${JSON.stringify(body)}\n`);
  } else {
    io.stdout.write(
      `job ${command.jobId}: ${data.bars.length} chunk attempts on ${data.rows.length} worker threads` +
        `${data.missing ? `, ${data.missing} chunks not recorded` : ''}; wrote ${written.join(' and ')}\n`,
    );
  }
  return ExitCodes.OK;
}

/** The exit code and the report of an error: a failed job, an unknown job, anything else. */
export function failed(e: unknown, json: boolean, io: CliIO): number {
  const code = (e as { code?: unknown })?.code;
  const exit =
    code === 'ERR_FANFOLD_JOB_NOT_FOUND' || code === 'ERR_FANFOLD_STACK_NOT_FOUND'
      ? ExitCodes.NOT_FOUND
      : code === 'ERR_FANFOLD_TASK_FAILED' ||
          code === 'ERR_FANFOLD_RETRIES_EXHAUSTED' ||
          code === 'ERR_FANFOLD_JOB_CANCELLED' ||
          code === 'ERR_FANFOLD_JOB_EXPIRED'
        ? ExitCodes.JOB_FAILED
        : code === 'ERR_FANFOLD_INVALID_ARGUMENT'
          ? ExitCodes.USAGE
          : ExitCodes.ERROR;
  if (json) io.stdout.write(`${JSON.stringify({ ok: false, error: errorFields(e) })}\n`);
  io.stderr.write(`fanfold: ${formatError(e)}\n`);
  return exit;
}

function ended(job: JobInfo): boolean {
  return job.status === 'FAILED' || job.status === 'CANCELLED';
}

function withRates(job: JobInfo): JobInfo & { elapsedMs: number; chunksPerSecond: number } {
  return { ...job, ...rates(job) };
}

function chunks(job: JobInfo): string {
  return job.total === undefined ? `${job.done}/?` : `${job.done}/${job.total}`;
}

/** `fanfold jobs`: one row per job, newest first. */
function table(list: readonly JobInfo[]): string {
  if (list.length === 0) return 'No jobs.\n';
  const rows = [
    ['JOB', 'STATUS', 'TASK', 'CHUNKS', 'STARTED', 'DURATION'],
    ...list.map((j) => [
      j.id,
      j.status,
      j.reducer === undefined ? j.task : `${j.task}→${j.reducer}`,
      chunks(j),
      timestamp(j.createdAt),
      `${seconds(rates(j).elapsedMs)}${j.endedAt === undefined ? ' (running)' : ''}`,
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return `${rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** `fanfold status JOB`: the job, one fact a line, and its error with the remote stack. */
function status(job: JobInfo, cost: CostReport): string {
  const { elapsedMs, chunksPerSecond } = rates(job);
  const percent = job.total ? ` (${Math.floor((job.done / job.total) * 100)}%)` : '';
  const rows: [string, string][] = [
    ['job', job.id],
    ['status', job.status],
    ['task', `${job.kind} of ${job.task}${job.reducer === undefined ? '' : `, folded by ${job.reducer}`}`],
    ['chunks', `${chunks(job)}${percent}`],
    ['started', timestamp(job.createdAt)],
    [job.endedAt === undefined ? 'running for' : 'took', seconds(elapsedMs)],
    ['throughput', `${number(chunksPerSecond)} chunks/s`],
    ['retries', `${number(job.retries)} (deliveries beyond a chunk's first)`],
    ['stragglers', `${number(job.backups)} backups sent`],
    ...costRows(cost, DEFAULT_MEMORY_MB, DEFAULT_THREADS).map(([k, v]): [string, string] =>
      k === 'cost' ? ['cost so far', v] : [k, v],
    ),
  ];
  if (job.endedAt !== undefined) rows.splice(5, 0, ['ended', timestamp(job.endedAt)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  let text = formatRows(rows);
  const e = job.error;
  if (e) {
    const where = [
      e.chunkIndex === undefined ? '' : `chunk ${e.chunkIndex}`,
      e.itemIndex === undefined ? '' : `item ${e.itemIndex}`,
    ]
      .filter(Boolean)
      .join(', ');
    text += `\n${'error'.padEnd(width)}  ${e.name}${e.code ? ` [${e.code}]` : ''}: ${e.message}${where ? ` (${where})` : ''}`;
    if (e.remoteStack) text += `\n--- remote stack ---\n${e.remoteStack}`;
  }
  return `${text}\n`;
}
