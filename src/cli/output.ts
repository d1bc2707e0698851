/**
 * How the CLI writes: colour only for a terminal that wants it (`NO_COLOR` and a pipe turn it
 * off), errors for a human (fanfold's recognised by their `code`), JSON that survives Maps, Sets
 * and BigInts, and the units of times and counts.
 */
import { inspect } from 'node:util';

/** Where the CLI writes; `process.stdout` and `process.stderr` satisfy it. */
export interface OutStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * Whether to colour what goes to `stream`: a terminal, and no `NO_COLOR` (any non-empty value, as
 * no-color.org says) nor `TERM=dumb`; `FORCE_COLOR` (non-empty, not `0`) forces it on.
 */
export function useColor(stream: OutStream, env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** JSON.stringify's replacer for values a job returns: BigInts as strings, Maps as objects, Sets as arrays. */
export function jsonReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), x]));
  if (v instanceof Set) return [...v];
  return v;
}

/** The fields of an error a JSON answer carries. */
export function errorFields(e: unknown): {
  name: string;
  message: string;
  code: string | undefined;
  remoteStack: string | undefined;
} {
  const err = e as { name?: unknown; message?: unknown; code?: unknown; remoteStack?: unknown };
  return {
    name: typeof err?.name === 'string' ? err.name : 'Error',
    message: typeof err?.message === 'string' ? err.message : String(e),
    code: typeof err?.code === 'string' ? err.code : undefined,
    remoteStack: typeof err?.remoteStack === 'string' ? err.remoteStack : undefined,
  };
}

/**
 * An error for a human. fanfold's errors are recognised by their `code`, not by `instanceof`:
 * a job runs a bundled copy of fanfold whose classes are not this copy's.
 */
export function formatError(e: unknown): string {
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

/** `420 ms` or `1.25 s`. */
export function seconds(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** A count or rate with thousands separators and few decimals. */
export function number(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: n < 10 ? 2 : n < 1000 ? 1 : 0 });
}

/** Milliseconds to one decimal, for JSON. */
export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** An epoch-ms time as `2026-12-07 20:51:18Z`. */
export function timestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}
