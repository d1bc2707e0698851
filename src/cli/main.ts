/**
 * The `fanfold` command line: `fanfold run <module>` bundles a job module, runs its default
 * export (made by `defineJob`) with a progress bar, and prints the outcome.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { isJob, type JobContext, type JobOutcome } from '../api/job.js';
import { bundle, bundleStats } from '../local/bundle.js';
import { packageRoot } from '../package-root.js';
import { createProgress, type ProgressStream } from './progress.js';

/** Where the CLI writes, and the directory module paths are resolved from. */
export interface CliIO {
  /** @default process.stdout */
  readonly stdout: ProgressStream;
  /** @default process.stderr */
  readonly stderr: ProgressStream;
  /** @default process.cwd() */
  readonly cwd: string;
}

/** Exit codes of {@link main}. */
export const ExitCodes = { OK: 0, JOB_FAILED: 1, USAGE: 2 } as const;

/** Parsed command line. */
export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'run';
      readonly module: string;
      readonly processes: number | undefined;
      readonly json: boolean;
      readonly args: readonly string[];
    };

/** A bad command line: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const HELP = `Usage: fanfold run <module> [--processes N] [--json] [-- job args...]
       fanfold --help | --version

Runs a job module (its default export made by defineJob) with a progress bar on
stderr, then prints its result, the wall time, the rate and the job's details.

Options of run:
  -p, --processes N   worker threads for the job's pools (default: the CPU count)
      --json          print one JSON object on stdout instead of text
  --                  pass the arguments after it to the job (ctx.args)

Exit codes: 0 done, 1 the job failed, 2 bad usage.

Examples:
  fanfold run examples/wordfreq.job.ts
  fanfold run jobs/resize.job.ts --processes 4 -- images/ out/
`;

/**
 * Runs the command line and resolves to the exit code (it never calls `process.exit`).
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(argv: readonly string[], io: Partial<CliIO> = {}): Promise<number> {
  const out: CliIO = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), ...io };
  let command: Command;
  try {
    command = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    out.stderr.write(`fanfold: ${e.message}\nRun 'fanfold --help' for usage.\n`);
    return ExitCodes.USAGE;
  }
  switch (command.kind) {
    case 'help':
      out.stdout.write(HELP);
      return ExitCodes.OK;
    case 'version':
      out.stdout.write(`${version()}\n`);
      return ExitCodes.OK;
    case 'run':
      return run(command, out);
  }
}

/**
 * Parses the command line.
 *
 * @throws {UsageError} naming the option, what it expects and what it got.
 * @example
 * ```ts
 * parseArgs(['run', 'job.ts', '-p', '2', '--', 'a']);
 * // { kind: 'run', module: 'job.ts', processes: 2, json: false, args: ['a'] }
 * ```
 */
export function parseArgs(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('Expected a command (run), got nothing');
  if (first === '--help' || first === '-h' || first === 'help') return { kind: 'help' };
  if (first === '--version' || first === '-v') return { kind: 'version' };
  if (first !== 'run') {
    throw new UsageError(`Unknown command ${JSON.stringify(first)}; expected run, --help or --version`);
  }
  let module: string | undefined;
  let processes: number | undefined;
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--') return finish(module, processes, json, rest.slice(i + 1));
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--json') json = true;
    else if (arg === '--processes' || arg === '-p' || arg.startsWith('--processes=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : rest[++i];
      processes = parseProcesses(value);
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(
        `Unknown option ${arg} of run; expected --processes N, --json or -- before job arguments`,
      );
    } else if (module === undefined) module = arg;
    else {
      throw new UsageError(
        `Unexpected argument ${JSON.stringify(arg)} after the module ${JSON.stringify(module)}; ` +
          'pass arguments for the job after --',
      );
    }
  }
  return finish(module, processes, json, []);
}

function finish(
  module: string | undefined,
  processes: number | undefined,
  json: boolean,
  args: string[],
): Command {
  if (module === undefined)
    throw new UsageError('Expected run to be given a job module, e.g. fanfold run job.ts');
  return { kind: 'run', module, processes, json, args };
}

function parseProcesses(value: string | undefined): number {
  if (value === undefined)
    throw new UsageError('Expected --processes to be followed by an integer >= 1, got nothing');
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`Expected --processes to be an integer >= 1, got ${JSON.stringify(value)}`);
  }
  return n;
}

async function run(command: Extract<Command, { kind: 'run' }>, io: CliIO): Promise<number> {
  const path = resolve(io.cwd, command.module);
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) {
    io.stderr.write(
      `fanfold: Cannot find the job module ${JSON.stringify(command.module)} (looked at ${path})\n`,
    );
    return ExitCodes.USAGE;
  }

  const loadStart = performance.now();
  const buildsBefore = bundleStats().builds;
  let job: unknown;
  try {
    const file = await bundle({
      contents: `export { default } from ${JSON.stringify(path)};`,
      resolveDir: dirname(path),
      name: 'job',
    });
    // Before the import: stacks then point at the .ts sources, which is also how defineTasks
    // finds the file of a tasks module imported by the job.
    process.setSourceMapsEnabled(true);
    job = ((await import(pathToFileURL(file).href)) as { default?: unknown }).default;
  } catch (e) {
    io.stderr.write(`fanfold: Could not load ${command.module}\n${formatError(e)}\n`);
    return ExitCodes.JOB_FAILED;
  }
  if (!isJob(job)) {
    io.stderr.write(
      `fanfold: Expected the default export of ${command.module} to be a job, got ${describe(job)}; ` +
        'write: export default defineJob(async (ctx) => ({ result }))\n',
    );
    return ExitCodes.JOB_FAILED;
  }
  const load = { ms: performance.now() - loadStart, bundled: bundleStats().builds > buildsBefore };

  const progress = createProgress({ stream: io.stderr });
  const ctx: JobContext = {
    args: Object.freeze([...command.args]),
    processes: command.processes,
    onProgress: progress.update,
    log: progress.log,
  };
  const start = performance.now();
  let outcome: JobOutcome;
  try {
    outcome = checkOutcome(await job.run(ctx));
  } catch (e) {
    const ms = performance.now() - start;
    progress.end();
    io.stderr.write(
      `fanfold: The job ${command.module} failed after ${(ms / 1000).toFixed(2)} s\n${formatError(e)}\n`,
    );
    if (command.json) io.stdout.write(`${JSON.stringify(errorJson(e, ms))}\n`);
    return ExitCodes.JOB_FAILED;
  }
  const ms = performance.now() - start;
  progress.end();
  io.stdout.write(
    command.json
      ? `${outcomeJson(outcome, ms, load.ms)}\n`
      : formatOutcome(outcome, {
          ms,
          load,
          colors: io.stdout.isTTY === true,
          columns: io.stdout.columns || 100, // 0 on a pseudo-terminal without a window size
        }),
  );
  return ExitCodes.OK;
}

/** The job's return value, checked: the CLI must not print a half-formed outcome. */
function checkOutcome(v: unknown): JobOutcome {
  if (typeof v !== 'object' || v === null || !('result' in v)) {
    throw new TypeError(
      `Expected the job to resolve to { result, items?, itemLabel?, details? }, got ${describe(v)}`,
    );
  }
  const o = v as JobOutcome;
  if (o.items !== undefined && !(typeof o.items === 'number' && Number.isFinite(o.items) && o.items >= 0)) {
    throw new TypeError(`Expected outcome.items to be a number >= 0, got ${describe(o.items)}`);
  }
  if (o.itemLabel !== undefined && typeof o.itemLabel !== 'string') {
    throw new TypeError(`Expected outcome.itemLabel to be a string, got ${describe(o.itemLabel)}`);
  }
  if (o.details !== undefined) {
    if (typeof o.details !== 'object' || o.details === null) {
      throw new TypeError(`Expected outcome.details to be an object, got ${describe(o.details)}`);
    }
    for (const [k, d] of Object.entries(o.details)) {
      if (typeof d !== 'string' && typeof d !== 'number') {
        throw new TypeError(`Expected outcome.details.${k} to be a string or a number, got ${describe(d)}`);
      }
    }
  }
  return o;
}

function describe(v: unknown): string {
  return inspect(v, { depth: 0, breakLength: Number.POSITIVE_INFINITY, maxStringLength: 40 });
}

function version(): string {
  return packageRoot(import.meta.url)?.version ?? '0.0.0';
}

interface FormatOptions {
  readonly ms: number;
  readonly load: { readonly ms: number; readonly bundled: boolean };
  readonly colors: boolean;
  readonly columns: number;
}

const MAX_RESULT_LINES = 200;

/** The outcome as text: the result, then aligned `key  value` lines. */
function formatOutcome(o: JobOutcome, f: FormatOptions): string {
  let result = inspect(o.result, {
    depth: 4,
    colors: f.colors,
    maxArrayLength: 100,
    maxStringLength: 2_000,
    breakLength: Math.max(40, f.columns),
  });
  const lines = result.split('\n');
  if (lines.length > MAX_RESULT_LINES) {
    result = `${lines.slice(0, MAX_RESULT_LINES).join('\n')}\n... ${lines.length - MAX_RESULT_LINES} more lines (--json prints all)`;
  }
  const rows: [string, string][] = [
    ['wall time', seconds(f.ms)],
    ['load', `${seconds(f.load.ms)} (${f.load.bundled ? 'bundled' : 'cached bundle'})`],
  ];
  if (o.items !== undefined) {
    const label = o.itemLabel ?? 'items';
    rows.push([
      'rate',
      `${number(f.ms > 0 ? (o.items * 1000) / f.ms : 0)} ${label}/s (${number(o.items)} ${label})`,
    ]);
  }
  for (const [k, v] of Object.entries(o.details ?? {})) rows.push([k, typeof v === 'number' ? number(v) : v]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${result}\n\n${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

/** The outcome as one JSON object (Maps, Sets and BigInts made JSON-friendly). */
function outcomeJson(o: JobOutcome, ms: number, loadMs: number): string {
  const body = {
    ok: true,
    result: o.result,
    wallTimeMs: round(ms),
    loadMs: round(loadMs),
    items: o.items,
    itemsPerSecond: o.items !== undefined && ms > 0 ? round((o.items * 1000) / ms) : undefined,
    details: o.details,
  };
  try {
    return JSON.stringify(body, jsonReplacer);
  } catch (e) {
    // A cycle, most likely: keep the promise of one JSON object, with the result as text.
    return JSON.stringify(
      { ...body, result: inspect(o.result, { depth: 4 }), resultError: String(e) },
      jsonReplacer,
    );
  }
}

function errorJson(e: unknown, ms: number): object {
  const err = e as { name?: unknown; message?: unknown; code?: unknown; remoteStack?: unknown };
  return {
    ok: false,
    wallTimeMs: round(ms),
    error: {
      name: typeof err?.name === 'string' ? err.name : 'Error',
      message: typeof err?.message === 'string' ? err.message : String(e),
      code: typeof err?.code === 'string' ? err.code : undefined,
      remoteStack: typeof err?.remoteStack === 'string' ? err.remoteStack : undefined,
    },
  };
}

function jsonReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), x]));
  if (v instanceof Set) return [...v];
  return v;
}

/**
 * An error for a human. fanfold's errors are recognised by their `code`, not by `instanceof`:
 * the job runs a bundled copy of fanfold whose classes are not this copy's.
 */
function formatError(e: unknown): string {
  if (typeof e !== 'object' || e === null) return `Thrown: ${inspect(e)}`;
  const err = e as {
    name?: string;
    message?: string;
    code?: unknown;
    stack?: string;
    remoteStack?: unknown;
    jobId?: unknown;
    chunkIndex?: unknown;
    itemIndex?: unknown;
  };
  if (typeof err.code !== 'string' || !err.code.startsWith('ERR_FANFOLD_')) return inspect(e);
  const header = `${err.name ?? 'Error'} [${err.code}]: ${err.message ?? ''}`;
  if (typeof err.remoteStack === 'string') {
    const where = [
      typeof err.jobId === 'string' ? `job ${err.jobId}` : '',
      typeof err.chunkIndex === 'number' ? `chunk ${err.chunkIndex}` : '',
      typeof err.itemIndex === 'number' ? `item ${err.itemIndex}` : '',
    ].filter(Boolean);
    return `${header}${where.length ? ` (${where.join(', ')})` : ''}\n--- remote stack ---\n${err.remoteStack}`;
  }
  const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  return [header, ...frames].join('\n');
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function number(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: n < 10 ? 2 : n < 1000 ? 1 : 0 });
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
