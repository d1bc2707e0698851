/**
 * The work-queue protocol: every message body is validated here at each boundary (the host and the
 * dead-letter handler, locally and in the Lambda functions) before anything acts on it. Unknown
 * types and versions are rejected loudly with a {@link ProtocolError}.
 */
import { ProtocolError } from '../errors.js';
import type { CallMode, ChunkInput, Data, WorkMessage } from '../ports.js';
import { checkSource } from './lines.js';

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;

const MODES: readonly CallMode[] = ['map', 'starmap', 'reduce'];

function fail(what: string, got: unknown): never {
  throw new ProtocolError(`Malformed work message: expected ${what}, got ${describe(got)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)} (string)`;
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  return `${String(v)} (${typeof v})`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, key: string, max = 256): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(`${key} to be a non-empty string`, v);
  return v;
}

function nat(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${key} to be an integer >= 0`, v);
  return v;
}

function finite(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${key} to be a finite number`, v);
  return v;
}

/** Validates encoded data. */
export function parseData(v: unknown): Data {
  if (!isObject(v)) fail('data to be an object', v);
  const enc = v.enc;
  if (enc !== 'v8' && enc !== 'f64') fail('data.enc to be "v8" or "f64"', enc);
  if ('bytes' in v) {
    if (!(v.bytes instanceof Uint8Array)) fail('data.bytes to be a Uint8Array', v.bytes);
    if (enc === 'f64' && v.bytes.byteLength % 8 !== 0)
      fail('f64 data to be a multiple of 8 bytes', v.bytes.byteLength);
    return { enc, bytes: v.bytes };
  }
  return { enc, blob: str(v, 'blob', 1024), size: nat(v, 'size') };
}

function parseInput(v: unknown): ChunkInput {
  if (!isObject(v)) fail('input to be an object', v);
  const offset = nat(v, 'offset');
  const count = nat(v, 'count');
  switch (v.kind) {
    case 'items':
      return { kind: 'items', offset, count, data: parseData(v.data) };
    case 'range':
      return { kind: 'range', offset, count, start: finite(v, 'start'), step: finite(v, 'step') };
    case 'bytes': {
      const start = nat(v, 'start');
      const end = nat(v, 'end');
      const size = nat(v, 'size');
      if (end <= start || end > size) fail(`input.end to be > start (${start}) and <= size (${size})`, end);
      if (offset !== 0) fail('input.offset to be 0 for a byte range', offset);
      if (count !== end - start) fail(`input.count to be end - start (${end - start})`, count);
      return {
        kind: 'bytes',
        offset: 0,
        count,
        source: checkSource(v.source, (w, g) => fail(`input.${w}`, g)),
        start,
        end,
        size,
      };
    }
    default:
      return fail('input.kind to be "items", "range" or "bytes"', v.kind);
  }
}

/** Longest `Process` name a chunk may carry. */
export const MAX_PROCESS_NAME = 256;

/**
 * The optional flags of a chunk (and of the submit and append requests that make chunks): `handles`
 * (some items hold primitives' handles, revived by the thread) and `process` (the chunk is a
 * `Process` run, given a thread of its own under that name). `fail(what, got)` reports a bad field.
 */
export function chunkFlags(
  o: Record<string, unknown>,
  fail: (what: string, got: unknown) => never,
): { handles?: true; process?: string } {
  if (o.handles !== undefined && o.handles !== true) fail('handles to be true when present', o.handles);
  const p = o.process;
  if (p !== undefined && (typeof p !== 'string' || p.length === 0 || p.length > MAX_PROCESS_NAME))
    fail(`process to be a name of 1 to ${MAX_PROCESS_NAME} characters`, p);
  return {
    ...(o.handles === true ? { handles: true as const } : {}),
    ...(typeof p === 'string' ? { process: p } : {}),
  };
}

/** Validates a work-queue message body; throws {@link ProtocolError} when it is not one. */
export function parseWorkMessage(body: unknown): WorkMessage {
  if (!isObject(body)) fail('a message object', body);
  if (body.v !== PROTOCOL_VERSION) fail(`protocol version ${PROTOCOL_VERSION}`, body.v);
  const jobId = str(body, 'jobId', 128);
  switch (body.type) {
    case 'chunk': {
      const mode = body.mode as CallMode;
      if (!MODES.includes(mode)) fail(`mode to be one of ${MODES.join(', ')}`, body.mode);
      const msg: WorkMessage = {
        v: 1,
        type: 'chunk',
        jobId,
        index: nat(body, 'index'),
        task: str(body, 'task'),
        mode,
        input: parseInput(body.input),
        ...(mode === 'reduce' ? { reducer: str(body, 'reducer') } : {}),
        ...chunkFlags(body, fail),
      };
      return msg;
    }
    case 'finalise':
      return { v: 1, type: 'finalise', jobId };
    default:
      return fail('type to be "chunk" or "finalise"', body.type);
  }
}
