/**
 * `fanfold run <module>`: bundles a job module, runs its default export (made by `defineJob`) with
 * a progress bar on stderr, and prints the outcome. A module that cannot be loaded, or whose
 * default export is not a job, exits with its own code, apart from a job that ran and failed.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { isJob, type JobContext, type JobOutcome } from '../api/job.js';
import { bundle, bundleStats } from '../local/bundle.js';
import type { Command } from './args.js';
import { type RunDashboard, startRunDashboard } from './dashboard.js';
import { type CliIO, ExitCodes } from './io.js';
import { errorFields, formatError, jsonReplacer, number, round, seconds, useColor } from './output.js';
import { createProgress } from './progress.js';

/** Runs `fanfold run`; resolves to the exit code. */
export async function runJob(command: Extract<Command, { kind: 'run' }>, io: CliIO): Promise<number> {
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
    return ExitCodes.NOT_A_JOB;
  }
  if (!isJob(job)) {
    io.stderr.write(
      `fanfold: Expected the default export of ${command.module} to be a job, got ${describe(job)}; ` +
        'write: export default defineJob(async (ctx) => ({ result }))\n',
    );
    return ExitCodes.NOT_A_JOB;
  }
  const load = { ms: performance.now() - loadStart, bundled: bundleStats().builds > buildsBefore };

  const progress = createProgress({ stream: io.stderr, color: useColor(io.stderr, io.env) });
  let onProgress = progress.update;
  let dashboard: RunDashboard | undefined;
  if (command.dashboard) {
    dashboard = await startRunDashboard(`run ${command.module}`, command.dashboard.port, onProgress, io);
    if (!dashboard) return ExitCodes.ERROR;
    onProgress = dashboard.onProgress;
    progress.log(`fanfold: the dashboard of this run is at ${dashboard.url}`);
  }
  const ctx: JobContext = {
    args: Object.freeze([...command.args]),
    processes: command.processes,
    onProgress,
    log: progress.log,
  };
  const start = performance.now();
  let outcome: JobOutcome;
  try {
    outcome = checkOutcome(await job.run(ctx));
  } catch (e) {
    const ms = performance.now() - start;
    await dashboard?.finish();
    progress.end({ error: e });
    io.stderr.write(
      `fanfold: The job ${command.module} failed after ${(ms / 1000).toFixed(2)} s\n${formatError(e)}\n`,
    );
    if (command.json) io.stdout.write(`${JSON.stringify(errorJson(e, ms))}\n`);
    return ExitCodes.JOB_FAILED;
  }
  const ms = performance.now() - start;
  await dashboard?.finish();
  progress.end();
  io.stdout.write(
    command.json
      ? `${outcomeJson(outcome, ms, load.ms)}\n`
      : formatOutcome(outcome, {
          ms,
          load,
          colors: useColor(io.stdout, io.env),
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
  return { ok: false, wallTimeMs: round(ms), error: errorFields(e) };
}
