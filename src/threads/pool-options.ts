/**
 * The options of a {@link ThreadPool}, documented field by field, and their resolution: checked
 * once, defaults filled, the caller's object never touched.
 */
import { isAbsolute } from 'node:path';
import type { TransferListItem } from 'node:worker_threads';
import { InvalidArgumentError } from '../errors.js';
import { optionalInteger, options, received } from '../validate.js';

/** Options of {@link ThreadPool}. */
export interface ThreadPoolOptions {
  /** Number of threads (an integer >= 1). */
  readonly size: number;
  /** A `file:` URL (string or URL) or absolute path of an ESM file, run in each thread; it calls `serveThread()`. */
  readonly script: string | URL;
  /** Passed to each thread as `workerData.data` and to the `init` of `serveThread()`. @default undefined */
  readonly data?: unknown;
  /** Replace a thread after it has completed this many tasks (CPython `maxtasksperchild`). @default undefined (never) */
  readonly maxTasksPerThread?: number;
  /** Tasks in flight per thread (pipelining hides the ~100 µs round trip). @default 4 */
  readonly maxInFlightPerThread?: number;
  /** Thread names are `${name}-${n}`, n counting up from 1 over the pool's life. @default 'fanfold-worker' */
  readonly name?: string;
  /** Whether names get `-${n}`; false names every thread exactly `name` (a `Process`'s one thread). @default true */
  readonly numbered?: boolean;
  /** The shared-memory arena of local primitives, passed to each thread as `workerData.arena`. @default undefined */
  readonly arena?: SharedArrayBuffer;
}

/** Options of {@link ThreadPool.run}. */
export interface RunOptions {
  /** Objects moved to the thread instead of copied (e.g. `[typedArray.buffer]`). @default undefined */
  readonly transfer?: readonly TransferListItem[];
  /** A label for {@link ThreadPool.cancel}. @default undefined */
  readonly tag?: string;
  /**
   * Run alone: only on a thread with nothing else in flight, and send that thread nothing else
   * until it is done. A crash during it can then be blamed on it alone (the host runs chunks
   * that were redelivered after a crash this way). @default false
   */
  readonly exclusive?: boolean;
  /**
   * Receives each part of the result the thread reports ahead (`report` of `serveThread()`), in
   * order, before the run settles. A thread that dies has its reported parts delivered first.
   * @default undefined (parts are dropped)
   */
  readonly onProgress?: (part: unknown) => void;
}

/** Checks the options of one `run()`. Throws {@link InvalidArgumentError}. */
export function resolveRunOptions(options: RunOptions | undefined): {
  tag: string | undefined;
  transfer: readonly TransferListItem[] | undefined;
  exclusive: boolean;
  progress: ((part: unknown) => void) | undefined;
} {
  const tag = options?.tag;
  if (tag !== undefined && typeof tag !== 'string')
    throw new InvalidArgumentError(`Expected options.tag to be a string, got ${typeof tag}`);
  const transfer = options?.transfer;
  if (transfer !== undefined && !Array.isArray(transfer))
    throw new InvalidArgumentError('Expected options.transfer to be an array');
  const progress = options?.onProgress;
  if (progress !== undefined && typeof progress !== 'function')
    throw new InvalidArgumentError(`Expected options.onProgress to be a function, got ${typeof progress}`);
  return { tag, transfer, exclusive: options?.exclusive === true, progress };
}

const DEFAULTS = Object.freeze({ maxInFlightPerThread: 4, name: 'fanfold-worker', numbered: true });

/** The options with every default filled in. */
export type ResolvedPoolOptions = Required<
  Omit<ThreadPoolOptions, 'data' | 'maxTasksPerThread' | 'script' | 'arena'>
> & {
  readonly data: unknown;
  readonly maxTasksPerThread: number;
  readonly script: string | URL;
  readonly arena: SharedArrayBuffer | undefined;
};

const KNOWN_OPTIONS = [
  'size',
  'script',
  'data',
  'maxTasksPerThread',
  'maxInFlightPerThread',
  'name',
  'numbered',
  'arena',
];

/** Checks the options and fills in the defaults. Throws {@link InvalidArgumentError}. */
export function resolvePoolOptions(raw: ThreadPoolOptions): ResolvedPoolOptions {
  const o = options<ThreadPoolOptions>(raw, 'options', KNOWN_OPTIONS);
  const size = optionalInteger(o.size, 'options.size', 1);
  if (size === undefined)
    throw new InvalidArgumentError('Expected options.size to be an integer >= 1, got undefined');
  const name = o.name ?? DEFAULTS.name;
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError(`Expected options.name to be a non-empty string, got ${received(name)}`);
  }
  if (o.numbered !== undefined && typeof o.numbered !== 'boolean')
    throw new InvalidArgumentError(`Expected options.numbered to be a boolean, got ${received(o.numbered)}`);
  return {
    size,
    script: resolveScript(o.script),
    data: o.data,
    maxTasksPerThread:
      optionalInteger(o.maxTasksPerThread, 'options.maxTasksPerThread', 1) ?? Number.POSITIVE_INFINITY,
    maxInFlightPerThread:
      optionalInteger(o.maxInFlightPerThread, 'options.maxInFlightPerThread', 1) ??
      DEFAULTS.maxInFlightPerThread,
    name,
    numbered: o.numbered ?? DEFAULTS.numbered,
    arena: resolveArena(o.arena),
  };
}

function resolveArena(arena: unknown): SharedArrayBuffer | undefined {
  if (arena === undefined || arena instanceof SharedArrayBuffer) return arena;
  throw new InvalidArgumentError(`Expected options.arena to be a SharedArrayBuffer, got ${received(arena)}`);
}

function resolveScript(script: unknown): string | URL {
  if (script instanceof URL) return script;
  if (typeof script === 'string') {
    if (/^(file|data):/.test(script)) return new URL(script);
    if (isAbsolute(script)) return script;
  }
  throw new InvalidArgumentError(
    `Expected options.script to be a file: URL or an absolute path, got ${received(script)}`,
  );
}
