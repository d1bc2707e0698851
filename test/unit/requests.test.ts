import { describe, expect, it } from 'vitest';
import type { CoordinatorRequest } from '../../src/engine/coordinator.js';
import { MAX_APPEND_CHUNKS, parseCoordinatorRequest, requestedTasks } from '../../src/engine/requests.js';
import { ErrorCodes, ProtocolError } from '../../src/errors.js';

const deadline = 1_900_000_000_000;
const f64 = { enc: 'f64', bytes: new Uint8Array(16) } as const;

const valid: Record<string, CoordinatorRequest> = {
  'a map submit over a range': {
    v: 1,
    type: 'submit',
    jobId: 'job-1',
    kind: 'map',
    task: 'square',
    input: { kind: 'range', start: 0, stop: 100, step: 3 },
    workers: 4,
    deadline,
  },
  'a starmap submit of inline items with a chunksize': {
    v: 1,
    type: 'submit',
    jobId: 'job-2',
    kind: 'starmap',
    task: 'add',
    input: { kind: 'items', data: { enc: 'v8', bytes: new Uint8Array([1, 2, 3]) } },
    chunksize: 10,
    workers: 1,
    deadline,
  },
  'a mapReduce submit with a reducer, a segments input and a blob initial value': {
    v: 1,
    type: 'submit',
    jobId: 'job-3',
    kind: 'mapReduce',
    task: 'square',
    reducer: 'sum',
    initial: { enc: 'v8', blob: 'jobs/job-3/initial', size: 12 },
    input: { kind: 'segments', blob: 'jobs/job-3/input', enc: 'f64', items: 100, chunksize: 7, indexAt: 800 },
    workers: 1000,
    deadline,
  },
  'an open submit (imap)': {
    v: 1,
    type: 'submit',
    jobId: 'job-4',
    kind: 'map',
    task: 'square',
    input: { kind: 'open' },
    workers: 2,
    deadline,
  },
  'a map submit over the lines of an S3 object': {
    v: 1,
    type: 'submit',
    jobId: 'job-6',
    kind: 'map',
    task: 'parse',
    input: { kind: 'lines', source: { bucket: 'my-logs', key: 'day/1.log' }, chunkBytes: 1 << 20 },
    workers: 8,
    deadline,
  },
  'a mapReduce submit over the lines of a file, default range length': {
    v: 1,
    type: 'submit',
    jobId: 'job-7',
    kind: 'mapReduce',
    task: 'length',
    reducer: 'add',
    input: { kind: 'lines', source: { path: '/data/big.csv' } },
    workers: 2,
    deadline,
  },
  'an append of inline and blob chunks': {
    v: 1,
    type: 'append',
    jobId: 'job-4',
    task: 'square',
    mode: 'map',
    firstIndex: 5,
    offset: 50,
    chunks: [
      { count: 2, data: f64 },
      { count: 9, data: { enc: 'v8', blob: 'jobs/job-4/in/6', size: 4096 } },
    ],
  },
  'a seal': { v: 1, type: 'seal', jobId: 'job-4', total: 7 },
  'a seal of an empty open job': { v: 1, type: 'seal', jobId: 'job-4', total: 0 },
  'a cancel': { v: 1, type: 'cancel', jobId: 'job-4', reason: 'the pool was terminated' },
  'a release': { v: 1, type: 'release', jobId: 'job-4' },
  'an expire': { v: 1, type: 'expire', jobId: 'job-5' },
  'a fanout of a range of chunks': { v: 1, type: 'fanout', jobId: 'job-1', from: 160, to: 20_000 },
  'a fanout that fires drain workers': {
    v: 1,
    type: 'fanout',
    jobId: 'job-1',
    from: 0,
    to: 1,
    perWorker: 25,
  },
};

describe('parseCoordinatorRequest()', () => {
  it.each(Object.entries(valid))('accepts %s and returns an equal request', (_what, req) => {
    expect(parseCoordinatorRequest(req)).toEqual(req);
  });

  it('accepts a Process submit (handles and process) and an append whose chunks hold handles', () => {
    const s = { ...valid['a map submit over a range']!, kind: 'starmap', handles: true, process: 'worker-1' };
    expect(parseCoordinatorRequest(s)).toEqual(s);
    const a = { ...valid['an append of inline and blob chunks']!, handles: true };
    expect(parseCoordinatorRequest(a)).toEqual(a);
  });

  it('rejects a malformed handles flag or process name, and a process name on an append', () => {
    const s = valid['a map submit over a range']!;
    expect(() => parseCoordinatorRequest({ ...s, handles: 'yes' })).toThrow(ProtocolError);
    expect(() => parseCoordinatorRequest({ ...s, process: '' })).toThrow(ProtocolError);
    const a = valid['an append of inline and blob chunks']!;
    expect(parseCoordinatorRequest({ ...a, process: 'p' })).not.toHaveProperty('process');
  });

  it('drops unknown extra fields', () => {
    expect(parseCoordinatorRequest({ ...valid['a release'], admin: true, v: 1 })).toEqual(valid['a release']);
  });

  const submit = valid['a map submit over a range'] as Extract<CoordinatorRequest, { type: 'submit' }>;
  const reduce = valid['a mapReduce submit with a reducer, a segments input and a blob initial value']!;
  const append = valid['an append of inline and blob chunks'] as Extract<
    CoordinatorRequest,
    { type: 'append' }
  >;

  it.each<[string, unknown]>([
    ['a string', 'submit'],
    ['null', null],
    ['an array', [submit]],
    ['no protocol version', { ...submit, v: undefined }],
    ['another protocol version', { ...submit, v: 2 }],
    ['the version as a string', { ...submit, v: '1' }],
    ['an unknown type', { ...submit, type: 'exec' }],
    ['no type', { ...submit, type: undefined }],
    ['a missing job id', { ...submit, jobId: undefined }],
    ['an empty job id', { ...submit, jobId: '' }],
    ['an oversized job id', { ...submit, jobId: 'x'.repeat(129) }],
    ['an oversized task name', { ...submit, task: 't'.repeat(257) }],
    ['a missing task', { ...submit, task: undefined }],
    ['an unknown job kind', { ...submit, kind: 'eval' }],
    ['a missing job kind', { ...submit, kind: undefined }],
    ['"values" input over the wire', { ...submit, input: { kind: 'values', items: [1, 2, 3] } }],
    ['an unknown input kind', { ...submit, input: { kind: 'code', source: 'x' } }],
    ['a missing input', { ...submit, input: undefined }],
    ['a fractional range start', { ...submit, input: { kind: 'range', start: 0.5, stop: 10, step: 1 } }],
    ['a range without stop', { ...submit, input: { kind: 'range', start: 0, step: 1 } }],
    ['a range step of zero', { ...submit, input: { kind: 'range', start: 0, stop: 10, step: 0 } }],
    [
      'a range over the safe integers',
      { ...submit, input: { kind: 'range', start: 0, stop: 2 ** 60, step: 1 } },
    ],
    [
      'items whose bytes are base64 text',
      { ...submit, input: { kind: 'items', data: { enc: 'v8', bytes: 'AAAA' } } },
    ],
    [
      'items of an unknown encoding',
      { ...submit, input: { kind: 'items', data: { enc: 'pickle', bytes: new Uint8Array(8) } } },
    ],
    [
      'f64 items of 7 bytes',
      { ...submit, input: { kind: 'items', data: { enc: 'f64', bytes: new Uint8Array(7) } } },
    ],
    [
      'a blob reference without size',
      { ...submit, input: { kind: 'items', data: { enc: 'v8', blob: 'jobs/job-1/input' } } },
    ],
    [
      "a blob reference outside the job's prefix",
      { ...submit, input: { kind: 'items', data: { enc: 'v8', blob: 'jobs/other/input', size: 3 } } },
    ],
    [
      'items of the whole input by blob reference (read whole: refused)',
      { ...submit, input: { kind: 'items', data: { enc: 'v8', blob: 'jobs/job-1/input', size: 3 } } },
    ],
    [
      "segments outside the job's prefix",
      {
        ...submit,
        input: { kind: 'segments', blob: 'jobs/x/input', enc: 'v8', items: 1, chunksize: 1, indexAt: 8 },
      },
    ],
    [
      'segments of an unknown encoding',
      {
        ...submit,
        input: {
          kind: 'segments',
          blob: 'jobs/job-1/input',
          enc: 'json',
          items: 1,
          chunksize: 1,
          indexAt: 8,
        },
      },
    ],
    [
      'segments of a chunksize of zero',
      {
        ...submit,
        input: { kind: 'segments', blob: 'jobs/job-1/input', enc: 'v8', items: 1, chunksize: 0, indexAt: 8 },
      },
    ],
    [
      'segments without an index offset',
      { ...submit, input: { kind: 'segments', blob: 'jobs/job-1/input', enc: 'v8', items: 1, chunksize: 1 } },
    ],
    ['lines without source', { ...submit, input: { kind: 'lines' } }],
    ['lines of a relative path', { ...submit, input: { kind: 'lines', source: { path: 'x.log' } } }],
    ['lines of a bad bucket', { ...submit, input: { kind: 'lines', source: { bucket: 'a', key: 'k' } } }],
    [
      'lines of an oversized key',
      { ...submit, input: { kind: 'lines', source: { bucket: 'my-logs', key: 'k'.repeat(1025) } } },
    ],
    [
      'lines with a chunkBytes of zero',
      { ...submit, input: { kind: 'lines', source: { path: '/x' }, chunkBytes: 0 } },
    ],
    [
      'lines with a fractional chunkBytes',
      { ...submit, input: { kind: 'lines', source: { path: '/x' }, chunkBytes: 1.5 } },
    ],
    [
      'a starmap over lines',
      { ...submit, kind: 'starmap', input: { kind: 'lines', source: { path: '/x' } } },
    ],
    ['zero workers', { ...submit, workers: 0 }],
    ['missing workers', { ...submit, workers: undefined }],
    ['a fractional chunksize', { ...submit, chunksize: 2.5 }],
    ['a chunksize of zero', { ...submit, chunksize: 0 }],
    ['a missing deadline', { ...submit, deadline: undefined }],
    ['a NaN deadline', { ...submit, deadline: Number.NaN }],
    ['a reducer on a map job', { ...submit, reducer: 'sum' }],
    ['an initial value on a map job', { ...submit, initial: f64 }],
    ['a mapReduce job without reducer', { ...reduce, reducer: undefined }],
    ['an open mapReduce job', { ...reduce, input: { kind: 'open' } }],
    ['an append in reduce mode', { ...append, mode: 'reduce' }],
    ['an append without chunks', { ...append, chunks: [] }],
    [
      'an append of too many chunks',
      { ...append, chunks: Array.from({ length: MAX_APPEND_CHUNKS + 1 }, () => append.chunks[0]) },
    ],
    ['an append chunk of no items', { ...append, chunks: [{ count: 0, data: f64 }] }],
    ['an append chunk without data', { ...append, chunks: [{ count: 1 }] }],
    ['an append with a negative first index', { ...append, firstIndex: -1 }],
    ['an append without offset', { ...append, offset: undefined }],
    ['a seal with a negative total', { v: 1, type: 'seal', jobId: 'j', total: -1 }],
    ['a seal without total', { v: 1, type: 'seal', jobId: 'j' }],
    ['a cancel without reason', { v: 1, type: 'cancel', jobId: 'j' }],
    ['a cancel with an oversized reason', { v: 1, type: 'cancel', jobId: 'j', reason: 'r'.repeat(1025) }],
    ['a release without job id', { v: 1, type: 'release' }],
    ['an expire without job id', { v: 1, type: 'expire' }],
    ['a fanout of an empty range', { v: 1, type: 'fanout', jobId: 'j', from: 5, to: 5 }],
    ['a fanout of a reversed range', { v: 1, type: 'fanout', jobId: 'j', from: 5, to: 2 }],
    ['a fanout without from', { v: 1, type: 'fanout', jobId: 'j', to: 2 }],
    ['a fanout past any job', { v: 1, type: 'fanout', jobId: 'j', from: 0, to: 2 ** 41 }],
    [
      'a fanout of zero chunks per worker',
      { v: 1, type: 'fanout', jobId: 'j', from: 0, to: 2, perWorker: 0 },
    ],
  ])('rejects %s with ProtocolError', (_what, body) => {
    let thrown: unknown;
    try {
      parseCoordinatorRequest(body);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ProtocolError);
    expect((thrown as ProtocolError).code).toBe(ErrorCodes.PROTOCOL);
  });
});

describe('parseCoordinatorRequest() of a backup', () => {
  const range = (i: number) =>
    ({ kind: 'range', offset: 10 * i, count: 10, start: 10 * i, step: 1 }) as const;
  const items = {
    kind: 'items',
    offset: 20,
    count: 2,
    data: { enc: 'v8', blob: 'jobs/j/in/2', size: 9 },
  } as const;
  const backup = { v: 1, type: 'backup', jobId: 'j', indices: [1, 2], inputs: [range(1), items] } as const;

  it("accepts indices with an input each (ranges, items inline or in the job's blobs), and handles", () => {
    expect(parseCoordinatorRequest(backup)).toEqual(backup);
    expect(parseCoordinatorRequest({ ...backup, handles: true })).toEqual({ ...backup, handles: true });
    expect(parseCoordinatorRequest({ v: 1, type: 'backup', jobId: 'j', indices: [4] })).toEqual({
      v: 1,
      type: 'backup',
      jobId: 'j',
      indices: [4],
    });
  });

  it.each<[string, unknown]>([
    ['no indices', { ...backup, indices: [], inputs: [] }],
    ['indices that are not an array', { ...backup, indices: 1 }],
    ['a negative index', { ...backup, indices: [-1, 2] }],
    ['a fractional index', { ...backup, indices: [1.5, 2] }],
    ['the same index twice', { ...backup, indices: [2, 2] }],
    [
      'too many indices',
      { v: 1, type: 'backup', jobId: 'j', indices: Array.from({ length: 501 }, (_, i) => i) },
    ],
    ['fewer inputs than indices', { ...backup, inputs: [range(1)] }],
    ['a malformed input', { ...backup, inputs: [range(1), { kind: 'eval', offset: 0, count: 1 }] }],
    [
      "an input blob outside the job's prefix",
      { ...backup, inputs: [range(1), { ...items, data: { enc: 'v8', blob: 'jobs/other/in/2', size: 9 } }] },
    ],
    ['a malformed handles flag', { ...backup, handles: 'yes' }],
  ])('rejects %s with ProtocolError', (_what, body) => {
    expect(() => parseCoordinatorRequest(body)).toThrow(ProtocolError);
  });
});

describe('requestedTasks()', () => {
  it('names the task and reducer a request will run, and none for control requests', () => {
    expect(
      requestedTasks(valid['a mapReduce submit with a reducer, a segments input and a blob initial value']!),
    ).toEqual(['square', 'sum']);
    expect(requestedTasks(valid['an append of inline and blob chunks']!)).toEqual(['square']);
    expect(requestedTasks(valid['a seal']!)).toEqual([]);
    // A fan-out runs the tasks the job was created with, which were checked then.
    expect(requestedTasks(valid['a fanout of a range of chunks']!)).toEqual([]);
  });
});
