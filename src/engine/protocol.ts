/**
 * The work-queue protocol: every message body is validated here at each boundary (the host, in a
 * local pool and in the worker Lambda, and the dead-letter handler, locally and in the dead-letter
 * Lambda) before anything acts on it. Unknown types and versions are rejected loudly with a
 * `ProtocolError`, in the words of every boundary's field checks (`src/fields.ts`).
 */
import { type Fail, FieldReader, type Fields } from '../fields.js';
import type { CallMode, ChunkInput, Data, DrainEvent, WorkMessage } from '../ports.js';
import { checkSource } from './lines.js';

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;

const MODES: readonly CallMode[] = ['map', 'starmap', 'reduce'];

const fields: FieldReader = new FieldReader('work message');

/**
 * Validates encoded data. `reader` and `path` name where it is (a coordinator request's
 * `input.data` reads as such). @default a work message's `data`
 */
export function parseData(v: unknown, reader: FieldReader = fields, path = 'data'): Data {
  const o = reader.object(v, `${path} to be an object`);
  const enc = o.enc;
  if (enc !== 'v8' && enc !== 'f64') return reader.fail(`${path}.enc to be "v8" or "f64"`, enc);
  if ('bytes' in o) {
    if (!(o.bytes instanceof Uint8Array)) reader.fail(`${path}.bytes to be a Uint8Array`, o.bytes);
    if (enc === 'f64' && o.bytes.byteLength % 8 !== 0)
      reader.fail(`${path}.bytes of f64 data to be a multiple of 8 bytes long`, o.bytes.byteLength);
    return { enc, bytes: o.bytes };
  }
  return {
    enc,
    blob: reader.string(o, 'blob', 1024, `${path}.blob`),
    // A slice of the blob is never empty: an encoded list has at least its header.
    size: reader.integer(o, 'size', o.offset === undefined ? 0 : 1, `${path}.size`),
    ...(o.offset === undefined ? {} : { offset: reader.integer(o, 'offset', 0, `${path}.offset`) }),
  };
}

/**
 * Validates a chunk's input. `reader` names where it is (a backup request's `inputs[k]`).
 * @default a work message's `input`
 */
export function parseInput(v: unknown, reader: FieldReader = fields, path = 'input'): ChunkInput {
  const f = reader;
  const o = f.object(v, `${path} to be an object`);
  const offset = f.integer(o, 'offset', 0, `${path}.offset`);
  const count = f.integer(o, 'count', 0, `${path}.count`);
  switch (o.kind) {
    case 'items':
      return { kind: 'items', offset, count, data: parseData(o.data, f, `${path}.data`) };
    case 'range':
      return {
        kind: 'range',
        offset,
        count,
        start: f.finite(o, 'start', `${path}.start`),
        step: f.finite(o, 'step', `${path}.step`),
      };
    case 'bytes': {
      const start = f.integer(o, 'start', 0, `${path}.start`);
      const end = f.integer(o, 'end', 0, `${path}.end`);
      const size = f.integer(o, 'size', 0, `${path}.size`);
      if (end <= start || end > size)
        f.fail(`${path}.end to be > start (${start}) and <= size (${size})`, end);
      if (offset !== 0) f.fail(`${path}.offset to be 0 for a byte range`, offset);
      if (count !== end - start) f.fail(`${path}.count to be end - start (${end - start})`, count);
      return {
        kind: 'bytes',
        offset: 0,
        count,
        source: checkSource(o.source, (w, g) => f.fail(`${path}.${w}`, g)),
        start,
        end,
        size,
      };
    }
    default:
      return f.fail(`${path}.kind to be "items", "range" or "bytes"`, o.kind);
  }
}

/** Longest `Process` name a chunk may carry. */
export const MAX_PROCESS_NAME = 256;

/**
 * The optional flags of a chunk (and of the submit and append requests that make chunks): `handles`
 * (some items hold primitives' handles, revived by the thread) and `process` (the chunk is a
 * `Process` run, given a thread of its own under that name). `fail(what, got)` reports a bad field.
 */
export function chunkFlags(o: Fields, fail: Fail): { handles?: true; process?: string } {
  if (o.handles !== undefined && o.handles !== true) fail('handles to be true when present', o.handles);
  const p = o.process;
  if (p !== undefined && (typeof p !== 'string' || p.length === 0 || p.length > MAX_PROCESS_NAME))
    fail(`process to be a name of 1 to ${MAX_PROCESS_NAME} characters`, p);
  return {
    ...(o.handles === true ? { handles: true as const } : {}),
    ...(typeof p === 'string' ? { process: p } : {}),
  };
}

/** The most shards a chunk message may name (a store spreads a job's records over at most this many). */
export const MAX_SHARDS = 99;

function shards(o: Fields): number {
  const n = fields.integer(o, 'shards', 1);
  if (n > MAX_SHARDS) fields.fail(`shards to be an integer from 1 to ${MAX_SHARDS}`, n);
  return n;
}

/** A chunk's optional `shards` and `deadline`: its job's layout, for the store. */
function jobRefOf(o: Fields): { shards?: number; deadline?: number } {
  return {
    ...(o.shards === undefined ? {} : { shards: shards(o) }),
    ...(o.deadline === undefined ? {} : { deadline: fields.integer(o, 'deadline', 0) }),
  };
}

/** A chunk's `backup` flag: true when present (a backup attempt of a straggler), never with `process`. */
function backupFlag(o: Fields): { backup?: true } {
  if (o.backup === undefined) return {};
  if (o.backup !== true) fields.fail('backup to be true when present', o.backup);
  // A Process runs at most once: it is never sent again.
  if (o.process !== undefined) fields.fail('no backup of a Process chunk', o.backup);
  return { backup: true };
}

/** Validates a work-queue message body; throws `ProtocolError` when it is not one. */
export function parseWorkMessage(body: unknown): WorkMessage {
  const o = fields.object(body, 'a message object');
  fields.version(o, PROTOCOL_VERSION);
  const jobId = fields.string(o, 'jobId', 128);
  switch (o.type) {
    case 'chunk': {
      const mode = o.mode as CallMode;
      if (!MODES.includes(mode)) fields.fail(`mode to be one of ${MODES.join(', ')}`, o.mode);
      return {
        v: 1,
        type: 'chunk',
        jobId,
        index: fields.integer(o, 'index'),
        task: fields.string(o, 'task'),
        mode,
        input: parseInput(o.input),
        ...(mode === 'reduce' ? { reducer: fields.string(o, 'reducer') } : {}),
        ...chunkFlags(o, fields.fail),
        ...jobRefOf(o),
        ...backupFlag(o),
      };
    }
    case 'finalise':
      return { v: 1, type: 'finalise', jobId };
    default:
      return fields.fail('type to be "chunk" or "finalise"', o.type);
  }
}

const drainFields: FieldReader = new FieldReader('drain event');

/**
 * Validates the event of a worker invoked directly to drain the work queue (`DrainEvent`); throws
 * `ProtocolError` when it is not one. Returns a new object holding only the known fields.
 */
export function parseDrainEvent(body: unknown): DrainEvent {
  const o = drainFields.object(body, 'an object');
  drainFields.version(o, PROTOCOL_VERSION);
  if (o.type !== 'drain') drainFields.fail('type to be "drain"', o.type);
  return { v: 1, type: 'drain', jobId: drainFields.string(o, 'jobId', 128) };
}
