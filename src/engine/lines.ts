/**
 * `lines(source)`: a job whose items are the lines of a large object (an S3 object, a local file),
 * split by byte ranges without ever loading the whole object in the caller or the coordinator. The
 * rule that gives each line to exactly one range is Lithops' object partitioner's: a range
 * `[start, end)` owns every line that STARTS in it; its reader skips the partial first line (unless
 * `start = 0`) and reads past `end` to the end of the line that straddles it.
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../errors.js';
import type { ObjectSource } from '../ports.js';
import { received } from '../validate.js';

/** Longest S3 bucket name (S3's own limit). */
export const MAX_BUCKET = 63;
/** Longest S3 key, in characters (S3 allows 1,024 bytes of UTF-8). */
export const MAX_KEY = 1024;
/** Longest file path. */
export const MAX_PATH = 4096;
/** Bounds of a job's default range length: ceil(size / (4 × workers)) clamped to them. */
export const MIN_CHUNK_BYTES = 64 * 1024;
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/** How far past a range's end the reader looks at a time for the end of its last line. */
const TAIL_STEP = 64 * 1024;

const NL = 0x0a;
const CR = 0x0d;

/** Options of {@link lines}. */
export interface LinesOptions {
  /**
   * Bytes per range (one chunk, one message). @default ceil(size / (4 × workers)), between 64 KiB
   * and 64 MiB
   */
  readonly chunkBytes?: number;
}

/** The lines of an object, as a pool call's items. Made with {@link lines}; never iterated in the caller. */
export class Lines {
  /** The file or S3 object the lines are read from. */
  readonly source: ObjectSource;
  /** Bytes per chunk, or `undefined` for the default. */
  readonly chunkBytes: number | undefined;
  /** Brands the items' type for `Items<string>`; never set. */
  declare readonly __item?: string;

  constructor(source: ObjectSource, chunkBytes: number | undefined) {
    this.source = source;
    this.chunkBytes = chunkBytes;
  }
}

/** Checks an object source wherever one arrives; `fail` reports the first problem. */
export function checkSource(v: unknown, fail: (what: string, got: unknown) => never): ObjectSource {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('source to be an object', v);
  const o = v as Record<string, unknown>;
  if ('path' in o) {
    const p = o.path;
    if (typeof p !== 'string' || p.length === 0 || p.length > MAX_PATH || !isAbsolute(p) || p.includes('\0'))
      fail(`source.path to be an absolute path of at most ${MAX_PATH} characters`, p);
    if ('bucket' in o || 'key' in o) fail('source to have a path or a bucket and key, not both', v);
    return { path: p };
  }
  const { bucket, key } = o;
  if (typeof bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    fail(`source.bucket to be an S3 bucket name (3 to ${MAX_BUCKET} of a-z 0-9 . -)`, bucket);
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY)
    fail(`source.key to be a non-empty string of at most ${MAX_KEY} characters`, key);
  return { bucket, key };
}

/** Describes a source in messages. */
export function sourceName(source: ObjectSource): string {
  return 'path' in source ? source.path : `s3://${source.bucket}/${source.key}`;
}

/**
 * The lines of an object as a pool call's items: `pool.map(task, lines(source))` calls the task once
 * per line (without its `\n` or `\r\n`), results in line order. The object is split into byte
 * ranges read by the workers; neither the caller nor the coordinator ever loads it.
 *
 * `source` is `{ bucket, key }` (an S3 object, AWS context: the workers need read access to it) or
 * a file path or `file:` URL (local context; a relative path is resolved now, against the current
 * directory).
 *
 * @example
 * ```ts
 * import { lines, local } from 'fanfold';
 * import tasks from './tasks.js';
 *
 * await using pool = local({ tasks }).Pool();
 * // Each worker reads its own byte range of the file; the caller never loads it.
 * const records = await pool.map('parse', lines('/data/big.jsonl'));
 * const words = await pool.mapReduce('countWords', lines('/data/book.txt', { chunkBytes: 8 << 20 }), 'mergeCounts', {
 *   initial: {},
 * });
 * ```
 */
export function lines(
  source: string | URL | { bucket: string; key: string },
  options: LinesOptions = {},
): Lines {
  const bad = (what: string, got: unknown): never => {
    throw new InvalidArgumentError(`Expected ${what}, got ${received(got)}`);
  };
  let src: ObjectSource;
  if (typeof source === 'string') {
    if (source.startsWith('file:')) src = checkSource({ path: fileURLToPath(source) }, bad);
    else if (source.length === 0)
      return bad('source to be a file path, a file URL or { bucket, key }', source);
    else src = checkSource({ path: resolve(source) }, bad);
  } else if (source instanceof URL) {
    if (source.protocol !== 'file:') return bad('a URL source to be a file: URL', source.href);
    src = checkSource({ path: fileURLToPath(source) }, bad);
  } else {
    if (typeof source !== 'object' || source === null || 'path' in source)
      return bad('source to be a file path, a file URL or { bucket, key }', source);
    src = checkSource(source, bad);
  }
  if (typeof options !== 'object' || options === null) return bad('options to be an object', options);
  const { chunkBytes } = options;
  if (chunkBytes !== undefined && (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1))
    bad('options.chunkBytes to be an integer >= 1', chunkBytes);
  return new Lines(src, chunkBytes);
}

/** The default range length for an object of `size` bytes over `workers` workers. */
export function defaultChunkBytes(size: number, workers: number): number {
  return Math.min(MAX_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, Math.ceil(size / (4 * workers))));
}

/** Number of ranges of an object of `size` bytes split every `chunkBytes`. */
export function rangeCount(size: number, chunkBytes: number): number {
  return Math.ceil(size / chunkBytes);
}

/** Reads the bytes `[start, end)` of the object (`end <= size`). */
export type ReadBytes = (start: number, end: number) => Promise<Uint8Array>;

/**
 * The lines owned by the byte range `[start, end)` of an object of `size` bytes, read with `read`:
 * the lines that start in the range, each without its `\n` (and a `\r` before it). Reads the byte
 * before `start` to tell whether a line starts there, and past `end` (a step at a time) only as far
 * as the end of the last line.
 */
export async function readLines(
  read: ReadBytes,
  size: number,
  start: number,
  end: number,
  step = TAIL_STEP,
): Promise<string[]> {
  end = Math.min(end, size);
  if (start >= end) return [];
  const from = start === 0 ? 0 : start - 1;
  const head = await read(from, end);
  // The first line that starts in the range: at 0, or right after the first '\n' at or after start - 1.
  let first = 0;
  if (start > 0) {
    const nl = head.indexOf(NL);
    if (nl < 0 || from + nl + 1 >= end) return [];
    first = nl + 1;
  }
  const parts: Uint8Array[] = [head.subarray(first)];
  // The last line owned may run past end: read on to its '\n' or to the end of the object.
  let at = end;
  if (head[head.length - 1] !== NL) {
    while (at < size) {
      const next = await read(at, Math.min(size, at + step));
      const nl = next.indexOf(NL);
      if (nl >= 0) {
        parts.push(next.subarray(0, nl + 1));
        break;
      }
      parts.push(next);
      at += next.length;
    }
  }
  return splitLines(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
}

/** Splits bytes that begin at a line start into lines, as `text.split(/\r?\n/)` less a trailing empty line. */
export function splitLines(bytes: Uint8Array): string[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  let p = 0;
  while (p < buf.length) {
    const nl = buf.indexOf(NL, p);
    if (nl < 0) {
      // The object's last line, without a newline: a '\r' at its end is kept, as split() keeps it.
      out.push(buf.toString('utf8', p));
      break;
    }
    const stop = nl > p && buf[nl - 1] === CR ? nl - 1 : nl;
    out.push(buf.toString('utf8', p, stop));
    p = nl + 1;
  }
  return out;
}
