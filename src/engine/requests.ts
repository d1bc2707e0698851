/**
 * The coordinator's request protocol: every request that reaches the coordinator over a wire (the
 * coordinator Lambda's invoke payload) is validated here before anything acts on it, field by
 * field, with the field checks every boundary shares (`src/fields.ts`). Unknown types and versions,
 * missing or oversized fields, and the in-process-only input kind `values` are rejected loudly with
 * a `ProtocolError`.
 */
import { type Fail, FieldReader, type Fields } from '../fields.js';
import type { ChunkInput, Data, JobKind } from '../ports.js';
import { blobKeys } from './blob-keys.js';
import type { CoordinatorRequest, JobInput } from './coordinator.js';
import { checkSource } from './lines.js';
import { chunkFlags, PROTOCOL_VERSION, parseData, parseInput } from './protocol.js';
import { MAX_BACKUP_CHUNKS } from './stragglers.js';

/** Longest job id: the same bound as work messages. */
export const MAX_JOB_ID = 128;
/** Longest task or reducer name. */
export const MAX_TASK_NAME = 256;
/** Longest cancel reason. */
export const MAX_REASON = 1024;
/** Most chunks one `append` may carry (a caller's imap window is far smaller). */
export const MAX_APPEND_CHUNKS = 10_000;

const KINDS: readonly JobKind[] = ['map', 'starmap', 'mapReduce'];
const TYPES = ['submit', 'append', 'seal', 'cancel', 'release', 'expire', 'fanout', 'backup'] as const;
/** The largest chunk index a request may name (a job of 2^40 chunks is far beyond any budget). */
export const MAX_CHUNK_INDEX = 2 ** 40;

const fields: FieldReader = new FieldReader('coordinator request');
const fail: Fail = fields.fail;

/** Data whose blob reference, if any, lies under the job's own prefix (deleted with the job). */
function data(v: unknown, jobId: string, path: string): Data {
  const d = parseData(v, fields, path);
  if ('blob' in d && !d.blob.startsWith(blobKeys.job(jobId)))
    fail(`${path}.blob to be under the job's prefix ${JSON.stringify(blobKeys.job(jobId))}`, d.blob);
  return d;
}

function input(v: unknown, jobId: string, kind: JobKind): JobInput {
  const o = fields.object(v, 'input to be an object');
  switch (o.kind) {
    case 'range': {
      const start = fields.integer(o, 'start', Number.MIN_SAFE_INTEGER, 'input.start');
      const stop = fields.integer(o, 'stop', Number.MIN_SAFE_INTEGER, 'input.stop');
      const step = fields.integer(o, 'step', Number.MIN_SAFE_INTEGER, 'input.step');
      if (step === 0) fail('input.step to be non-zero', step);
      return { kind: 'range', start, stop, step };
    }
    case 'items': {
      // Read whole by the coordinator: only inline (at most a request); larger goes as segments.
      const d = data(o.data, jobId, 'input.data');
      if (!('bytes' in d)) fail('input.data to be inline bytes (a larger input travels as "segments")', d);
      return { kind: 'items', data: d };
    }
    case 'segments': {
      const blob = fields.string(o, 'blob', 1024, 'input.blob');
      if (!blob.startsWith(blobKeys.job(jobId)))
        fail(`input.blob to be under the job's prefix ${JSON.stringify(blobKeys.job(jobId))}`, blob);
      if (o.enc !== 'v8' && o.enc !== 'f64') fail('input.enc to be "v8" or "f64"', o.enc);
      return {
        kind: 'segments',
        blob,
        enc: o.enc,
        items: fields.integer(o, 'items', 0, 'input.items'),
        chunksize: fields.integer(o, 'chunksize', 1, 'input.chunksize'),
        indexAt: fields.integer(o, 'indexAt', 0, 'input.indexAt'),
      };
    }
    case 'lines': {
      if (kind === 'starmap') fail('a map or mapReduce job for lines (a line is not an argument list)', kind);
      const chunkBytes =
        o.chunkBytes === undefined ? undefined : fields.integer(o, 'chunkBytes', 1, 'input.chunkBytes');
      return {
        kind: 'lines',
        source: checkSource(o.source, (what, got) => fail(`input.${what}`, got)),
        ...(chunkBytes === undefined ? {} : { chunkBytes }),
      };
    }
    case 'open':
      // An open job is fed by `append`, whose chunks are map or starmap chunks: no fold.
      if (kind === 'mapReduce') fail('a mapReduce job to have its whole input at submit', 'open');
      return { kind: 'open' };
    case 'values':
      return fail(
        'input.kind "range", "items", "segments", "lines" or "open" ("values" holds live objects and never crosses a wire)',
        o.kind,
      );
    default:
      return fail('input.kind to be "range", "items", "segments", "lines" or "open"', o.kind);
  }
}

function submit(o: Fields, jobId: string): CoordinatorRequest {
  const kind = o.kind as JobKind;
  if (!KINDS.includes(kind)) fail(`kind to be one of ${KINDS.join(', ')}`, o.kind);
  const reduce = kind === 'mapReduce';
  if (!reduce && o.reducer !== undefined) fail(`no reducer for a ${kind} job`, o.reducer);
  if (!reduce && o.initial !== undefined) fail(`no initial value for a ${kind} job`, o.initial);
  return {
    v: 1,
    type: 'submit',
    jobId,
    kind,
    task: fields.string(o, 'task', MAX_TASK_NAME),
    input: input(o.input, jobId, kind),
    workers: fields.integer(o, 'workers', 1),
    deadline: fields.integer(o, 'deadline', 1),
    ...(o.chunksize === undefined ? {} : { chunksize: fields.integer(o, 'chunksize', 1) }),
    ...(reduce ? { reducer: fields.string(o, 'reducer', MAX_TASK_NAME) } : {}),
    ...(o.initial === undefined ? {} : { initial: data(o.initial, jobId, 'initial') }),
    ...chunkFlags(o, fail),
  };
}

function append(o: Fields, jobId: string): CoordinatorRequest {
  const mode = o.mode;
  if (mode !== 'map' && mode !== 'starmap') fail('mode to be "map" or "starmap"', mode);
  const raw = o.chunks;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_APPEND_CHUNKS)
    fail(`chunks to be an array of 1 to ${MAX_APPEND_CHUNKS} chunks`, raw);
  const chunks = raw.map((c: unknown, k) => {
    const chunk = fields.object(c, `chunks[${k}] to be an object`);
    return {
      count: fields.integer(chunk, 'count', 1, `chunks[${k}].count`),
      data: data(chunk.data, jobId, `chunks[${k}].data`),
    };
  });
  return {
    v: 1,
    type: 'append',
    jobId,
    task: fields.string(o, 'task', MAX_TASK_NAME),
    mode,
    firstIndex: fields.integer(o, 'firstIndex', 0),
    offset: fields.integer(o, 'offset', 0),
    chunks,
    ...chunkFlags({ handles: o.handles }, fail),
  };
}

/** A backup request: distinct chunk indices, and an input per index whose blobs are the job's own. */
function backup(o: Fields, jobId: string): CoordinatorRequest {
  const raw = o.indices;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_BACKUP_CHUNKS)
    fail(`indices to be an array of 1 to ${MAX_BACKUP_CHUNKS} chunk indices`, raw);
  const indices = raw.map((v: unknown, k) => fields.integer({ v }, 'v', 0, `indices[${k}]`));
  if (new Set(indices).size !== indices.length) fail('indices to be distinct', raw);
  let inputs: ChunkInput[] | undefined;
  if (o.inputs !== undefined) {
    if (!Array.isArray(o.inputs) || o.inputs.length !== indices.length)
      fail(`inputs to be an array of ${indices.length} chunk inputs, one per index`, o.inputs);
    inputs = o.inputs.map((v: unknown, k) => {
      const input = parseInput(v, fields, `inputs[${k}]`);
      if (input.kind === 'items') data(input.data, jobId, `inputs[${k}].data`);
      return input;
    });
  }
  if (o.handles !== undefined && o.handles !== true) fail('handles to be true when present', o.handles);
  return {
    v: 1,
    type: 'backup',
    jobId,
    indices,
    ...(inputs ? { inputs } : {}),
    ...(o.handles === true ? { handles: true as const } : {}),
  };
}

/**
 * Validates a coordinator request that arrived over a wire; throws {@link ProtocolError} when it is
 * not one. Returns a new object holding only the known fields.
 *
 * @example
 * ```ts
 * const req = parseCoordinatorRequest(fromJsonSafe(event)); // then: new Coordinator(backend).handle(req)
 * ```
 */
export function parseCoordinatorRequest(body: unknown): CoordinatorRequest {
  const o = fields.object(body, 'a request object');
  fields.version(o, PROTOCOL_VERSION);
  const type = o.type as (typeof TYPES)[number];
  if (!TYPES.includes(type)) fail(`type to be one of ${TYPES.join(', ')}`, o.type);
  const jobId = fields.string(o, 'jobId', MAX_JOB_ID);
  switch (type) {
    case 'submit':
      return submit(o, jobId);
    case 'append':
      return append(o, jobId);
    case 'seal':
      return { v: 1, type: 'seal', jobId, total: fields.integer(o, 'total', 0) };
    case 'cancel':
      return { v: 1, type: 'cancel', jobId, reason: fields.string(o, 'reason', MAX_REASON) };
    case 'release':
      return { v: 1, type: 'release', jobId };
    case 'expire':
      return { v: 1, type: 'expire', jobId };
    case 'fanout':
      return fanout(o, jobId);
    case 'backup':
      return backup(o, jobId);
  }
}

/**
 * A node of the fan-out tree. Only the coordinator sends these (to itself, asynchronously); one
 * from anyone else is harmless, since it can only send chunks of a running job by the plan the job
 * was created with, which every party may send again (each chunk is recorded once).
 */
function fanout(o: Fields, jobId: string): CoordinatorRequest {
  const from = fields.integer(o, 'from', 0);
  const to = fields.integer(o, 'to', from + 1);
  if (to > MAX_CHUNK_INDEX) fail(`to to be at most ${MAX_CHUNK_INDEX}`, to);
  return {
    v: 1,
    type: 'fanout',
    jobId,
    from,
    to,
    ...(o.perWorker === undefined ? {} : { perWorker: fields.integer(o, 'perWorker', 1) }),
  };
}

/** The task names a request asks the workers to run (to check against the bundled tasks module). */
export function requestedTasks(req: CoordinatorRequest): string[] {
  switch (req.type) {
    case 'submit':
      return req.reducer === undefined ? [req.task] : [req.task, req.reducer];
    case 'append':
      return [req.task];
    default:
      return [];
  }
}
