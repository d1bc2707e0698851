/**
 * The coordinator's request protocol: every request that reaches the coordinator over a wire (the
 * coordinator Lambda's invoke payload) is validated here before anything acts on it, field by
 * field, the way `protocol.ts` validates work messages. Unknown types and versions, missing or
 * oversized fields, and the in-process-only input kind `values` are rejected loudly with a
 * {@link ProtocolError}.
 */
import { ProtocolError } from '../errors.js';
import type { Data, JobKind } from '../ports.js';
import { blobKeys } from './blob-keys.js';
import type { CoordinatorRequest, JobInput } from './coordinator.js';
import { checkSource } from './lines.js';
import { chunkFlags, PROTOCOL_VERSION, parseData } from './protocol.js';

/** Longest job id: the same bound as work messages. */
export const MAX_JOB_ID = 128;
/** Longest task or reducer name. */
export const MAX_TASK_NAME = 256;
/** Longest cancel reason. */
export const MAX_REASON = 1024;
/** Most chunks one `append` may carry (a caller's imap window is far smaller). */
export const MAX_APPEND_CHUNKS = 10_000;

const KINDS: readonly JobKind[] = ['map', 'starmap', 'mapReduce'];
const TYPES = ['submit', 'append', 'seal', 'cancel', 'release', 'expire'] as const;

type Obj = Record<string, unknown>;

function fail(what: string, got: unknown): never {
  throw new ProtocolError(`Malformed coordinator request: expected ${what}, got ${describe(got)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return `${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)} (string)`;
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  return `${String(v)} (${typeof v})`;
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string, max: number): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    fail(`${key} to be a non-empty string of at most ${max} characters`, v);
  return v;
}

function int(o: Obj, key: string, min: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    fail(`${key} to be an integer >= ${min}`, v);
  return v;
}

/** Data whose blob reference, if any, lies under the job's own prefix (deleted with the job). */
function data(v: unknown, jobId: string, key: string): Data {
  let d: Data;
  try {
    d = parseData(v);
  } catch (e) {
    throw new ProtocolError(`Malformed coordinator request: ${key}: ${(e as Error).message}`);
  }
  if ('blob' in d && !d.blob.startsWith(blobKeys.job(jobId)))
    fail(`${key}.blob to be under the job's prefix ${JSON.stringify(blobKeys.job(jobId))}`, d.blob);
  return d;
}

function input(v: unknown, jobId: string, kind: JobKind): JobInput {
  if (!isObject(v)) fail('input to be an object', v);
  switch (v.kind) {
    case 'range': {
      const start = int(v, 'start', Number.MIN_SAFE_INTEGER);
      const stop = int(v, 'stop', Number.MIN_SAFE_INTEGER);
      const step = int(v, 'step', Number.MIN_SAFE_INTEGER);
      if (step === 0) fail('input.step to be non-zero', step);
      return { kind: 'range', start, stop, step };
    }
    case 'items':
      return { kind: 'items', data: data(v.data, jobId, 'input.data') };
    case 'lines': {
      if (kind === 'starmap') fail('a map or mapReduce job for lines (a line is not an argument list)', kind);
      const chunkBytes = v.chunkBytes === undefined ? undefined : int(v, 'chunkBytes', 1);
      return {
        kind: 'lines',
        source: checkSource(v.source, (what, got) => fail(`input.${what}`, got)),
        ...(chunkBytes === undefined ? {} : { chunkBytes }),
      };
    }
    case 'open':
      // An open job is fed by `append`, whose chunks are map or starmap chunks: no fold.
      if (kind === 'mapReduce') fail('a mapReduce job to have its whole input at submit', 'open');
      return { kind: 'open' };
    case 'values':
      return fail(
        'input.kind "range", "items", "lines" or "open" ("values" holds live objects and never crosses a wire)',
        v.kind,
      );
    default:
      return fail('input.kind to be "range", "items", "lines" or "open"', v.kind);
  }
}

function submit(o: Obj, jobId: string): CoordinatorRequest {
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
    task: str(o, 'task', MAX_TASK_NAME),
    input: input(o.input, jobId, kind),
    workers: int(o, 'workers', 1),
    deadline: int(o, 'deadline', 1),
    ...(o.chunksize === undefined ? {} : { chunksize: int(o, 'chunksize', 1) }),
    ...(reduce ? { reducer: str(o, 'reducer', MAX_TASK_NAME) } : {}),
    ...(o.initial === undefined ? {} : { initial: data(o.initial, jobId, 'initial') }),
    ...chunkFlags(o, fail),
  };
}

function append(o: Obj, jobId: string): CoordinatorRequest {
  const mode = o.mode;
  if (mode !== 'map' && mode !== 'starmap') fail('mode to be "map" or "starmap"', mode);
  const raw = o.chunks;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_APPEND_CHUNKS)
    fail(`chunks to be an array of 1 to ${MAX_APPEND_CHUNKS} chunks`, raw);
  const chunks = raw.map((c: unknown, k) => {
    if (!isObject(c)) fail(`chunks[${k}] to be an object`, c);
    return { count: int(c, 'count', 1), data: data(c.data, jobId, `chunks[${k}].data`) };
  });
  return {
    v: 1,
    type: 'append',
    jobId,
    task: str(o, 'task', MAX_TASK_NAME),
    mode,
    firstIndex: int(o, 'firstIndex', 0),
    offset: int(o, 'offset', 0),
    chunks,
    ...chunkFlags({ handles: o.handles }, fail),
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
  if (!isObject(body)) fail('a request object', body);
  if (body.v !== PROTOCOL_VERSION) fail(`protocol version ${PROTOCOL_VERSION}`, body.v);
  const type = body.type as (typeof TYPES)[number];
  if (!TYPES.includes(type)) fail(`type to be one of ${TYPES.join(', ')}`, body.type);
  const jobId = str(body, 'jobId', MAX_JOB_ID);
  switch (type) {
    case 'submit':
      return submit(body, jobId);
    case 'append':
      return append(body, jobId);
    case 'seal':
      return { v: 1, type: 'seal', jobId, total: int(body, 'total', 0) };
    case 'cancel':
      return { v: 1, type: 'cancel', jobId, reason: str(body, 'reason', MAX_REASON) };
    case 'release':
      return { v: 1, type: 'release', jobId };
    case 'expire':
      return { v: 1, type: 'expire', jobId };
  }
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
