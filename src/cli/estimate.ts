/**
 * `fanfold estimate --items N --task-ms MS`: what a `map` of N items would cost on the stack and
 * how long it would take, before it runs, from the scale model (`src/views/cost.ts`); the prices
 * are the list prices unless `FANFOLD_PRICES` names a file of others.
 */
import { defaultChunksize } from '../chunksize.js';
import { estimateCost } from '../views/cost.js';
import { pricesFromEnv } from '../views/prices.js';
import type { Command } from './args.js';
import { costRows, formatRows } from './cost-text.js';
import { type CliIO, ExitCodes } from './io.js';
import { errorFields, formatError, number } from './output.js';

/** Runs `fanfold estimate`; resolves to the exit code. */
export async function runEstimate(
  command: Extract<Command, { kind: 'estimate' }>,
  io: CliIO,
): Promise<number> {
  let prices: ReturnType<typeof pricesFromEnv>;
  try {
    prices = pricesFromEnv(io.env);
  } catch (e) {
    if (command.json) io.stdout.write(`${JSON.stringify({ ok: false, error: errorFields(e) })}\n`);
    io.stderr.write(`fanfold: ${formatError(e)}\n`);
    return ExitCodes.USAGE;
  }
  const { items, taskMs, workers, memoryMb, threads } = command;
  const chunksize = command.chunksize ?? defaultChunksize(items, workers);
  const e = estimateCost({ items, chunksize, taskMs, workers, memoryMb, threads, prices });
  if (command.json) {
    io.stdout.write(`${JSON.stringify({ ok: true, estimate: { ...e, workers, memoryMb, threads } })}\n`);
    return ExitCodes.OK;
  }
  const rows: [string, string][] = [
    ['items', `${number(items)} in ${number(e.chunks)} chunks of ${number(chunksize)}`],
    ['task', `${number(taskMs)} ms an item (as given)`],
    ['workers', `${number(workers)} of ${memoryMb} MB, ${threads} threads each`],
    [
      'duration',
      `${secs(e.durationSeconds)} on AWS (fan-out ${secs(e.fanoutSeconds)}; the model's assumed latencies)`,
    ],
    ...costRows(e.cost, memoryMb, threads),
  ];
  io.stdout.write(`${formatRows(rows)}\n`);
  return ExitCodes.OK;
}

function secs(s: number): string {
  return s < 10 ? `${s.toFixed(2)} s` : s < 600 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;
}
