import { describe, expect, it } from 'vitest';
import { parseDrainEvent, parseWorkMessage } from '../../src/engine/protocol.js';
import { ProtocolError } from '../../src/errors.js';

const chunk = {
  v: 1,
  type: 'chunk',
  jobId: 'job-1',
  index: 3,
  task: 'square',
  mode: 'map',
  input: { kind: 'range', offset: 30, count: 10, start: 30, step: 1 },
};

const bytesInput = {
  kind: 'bytes',
  offset: 0,
  count: 100,
  source: { bucket: 'my-logs', key: 'day/1.log' },
  start: 200,
  end: 300,
  size: 1000,
};

describe('parseWorkMessage()', () => {
  it('accepts a chunk with a range input and returns an equal message', () => {
    expect(parseWorkMessage(chunk)).toEqual(chunk);
  });

  it('accepts the handles and process flags of a chunk', () => {
    const m = { ...chunk, mode: 'starmap', handles: true, process: 'Process-3' };
    expect(parseWorkMessage(m)).toEqual(m);
  });

  it("accepts a chunk carrying its job's layout (shards, deadline) and the backup flag", () => {
    const m = { ...chunk, shards: 64, deadline: 1_800_000_000_000, backup: true };
    expect(parseWorkMessage(m)).toEqual(m);
  });

  it("accepts the backup flag of a straggler's second attempt", () => {
    const m = { ...chunk, backup: true };
    expect(parseWorkMessage(m)).toEqual(m);
  });

  it.each<[string, unknown]>([
    ['0 shards', { shards: 0 }],
    ['more shards than a store makes (99)', { shards: 100 }],
    ['a fractional number of shards', { shards: 2.5 }],
    ['shards as a string', { shards: '4' }],
    ['a negative deadline', { deadline: -1 }],
    ['a deadline that is not a number', { deadline: 'soon' }],
    ['backup false', { backup: false }],
    ['backup not true', { backup: 'yes' }],
    ['a backup of a Process chunk (it runs at most once)', { backup: true, process: 'Process-3' }],
    ['handles not true', { handles: 1 }],
    ['handles false', { handles: false }],
    ['an empty process name', { process: '' }],
    ['a process name that is not a string', { process: 7 }],
    ['a process name over 256 characters', { process: 'p'.repeat(257) }],
  ])('rejects a chunk with %s', (_what, extra) => {
    expect(() => parseWorkMessage({ ...chunk, ...(extra as object) })).toThrow(ProtocolError);
  });

  it('accepts a chunk with inline items and a reduce chunk with its reducer', () => {
    const bytes = new Uint8Array(16);
    const m = {
      ...chunk,
      mode: 'reduce',
      reducer: 'sum',
      input: { kind: 'items', offset: 0, count: 2, data: { enc: 'f64', bytes } },
    };
    expect(parseWorkMessage(m)).toEqual(m);
  });

  it('accepts a chunk whose items are a slice of a blob (a segment of a large input)', () => {
    const m = {
      ...chunk,
      input: {
        kind: 'items',
        offset: 40,
        count: 10,
        data: { enc: 'v8', blob: 'jobs/j/input', size: 77, offset: 1_234 },
      },
    };
    expect(parseWorkMessage(m)).toEqual(m);
  });

  it('accepts chunks of byte ranges of an S3 object and of a file', () => {
    const s3 = { ...chunk, input: bytesInput };
    expect(parseWorkMessage(s3)).toEqual(s3);
    const file = {
      ...chunk,
      mode: 'reduce',
      reducer: 'add',
      input: { ...bytesInput, source: { path: '/data/x.log' } },
    };
    expect(parseWorkMessage(file)).toEqual(file);
  });

  it('accepts a finalise message and drops unknown extra fields', () => {
    expect(parseWorkMessage({ v: 1, type: 'finalise', jobId: 'j', extra: 1 })).toEqual({
      v: 1,
      type: 'finalise',
      jobId: 'j',
    });
  });

  it.each([
    ['a string', 'hello'],
    ['null', null],
    ['an array', [chunk]],
    ['another protocol version', { ...chunk, v: 2 }],
    ['an unknown type', { ...chunk, type: 'exec' }],
    ['a missing job id', { ...chunk, jobId: undefined }],
    ['an empty task name', { ...chunk, task: '' }],
    ['a negative index', { ...chunk, index: -1 }],
    ['a fractional count', { ...chunk, input: { ...chunk.input, count: 1.5 } }],
    ['an unknown mode', { ...chunk, mode: 'eval' }],
    ['a reduce chunk without reducer', { ...chunk, mode: 'reduce' }],
    ['an unknown input kind', { ...chunk, input: { ...chunk.input, kind: 'code' } }],
    ['a non-finite range start', { ...chunk, input: { ...chunk.input, start: Number.NaN } }],
    [
      'items whose data is not bytes',
      { ...chunk, input: { kind: 'items', offset: 0, count: 1, data: { enc: 'v8', bytes: 'AAAA' } } },
    ],
    [
      'f64 data of a length not a multiple of 8',
      {
        ...chunk,
        input: { kind: 'items', offset: 0, count: 1, data: { enc: 'f64', bytes: new Uint8Array(7) } },
      },
    ],
    [
      'an unknown encoding',
      {
        ...chunk,
        input: { kind: 'items', offset: 0, count: 1, data: { enc: 'pickle', bytes: new Uint8Array(8) } },
      },
    ],
    [
      'a blob reference without size',
      { ...chunk, input: { kind: 'items', offset: 0, count: 1, data: { enc: 'v8', blob: 'k' } } },
    ],
    [
      'a blob slice at a negative offset',
      {
        ...chunk,
        input: { kind: 'items', offset: 0, count: 1, data: { enc: 'v8', blob: 'k', size: 8, offset: -8 } },
      },
    ],
    [
      'an empty blob slice',
      {
        ...chunk,
        input: { kind: 'items', offset: 0, count: 1, data: { enc: 'v8', blob: 'k', size: 0, offset: 8 } },
      },
    ],
    ['an oversized job id', { ...chunk, jobId: 'x'.repeat(10_000) }],
    ['a byte range without source', { ...chunk, input: { ...bytesInput, source: undefined } }],
    ['a byte range with start = end', { ...chunk, input: { ...bytesInput, end: 200, count: 0 } }],
    ['a byte range with start > end', { ...chunk, input: { ...bytesInput, start: 400, count: -100 } }],
    ['a byte range past the size', { ...chunk, input: { ...bytesInput, size: 250 } }],
    ['a fractional byte range start', { ...chunk, input: { ...bytesInput, start: 200.5 } }],
    ['a negative byte range start', { ...chunk, input: { ...bytesInput, start: -1, count: 301 } }],
    ['a byte range with an offset', { ...chunk, input: { ...bytesInput, offset: 5 } }],
    ['a byte range whose count is not its length', { ...chunk, input: { ...bytesInput, count: 7 } }],
    [
      'a bucket name in capitals',
      { ...chunk, input: { ...bytesInput, source: { bucket: 'Logs', key: 'k' } } },
    ],
    [
      'a bucket name too long',
      { ...chunk, input: { ...bytesInput, source: { bucket: 'b'.repeat(64), key: 'k' } } },
    ],
    ['an empty key', { ...chunk, input: { ...bytesInput, source: { bucket: 'my-logs', key: '' } } }],
    [
      'an oversized key',
      { ...chunk, input: { ...bytesInput, source: { bucket: 'my-logs', key: 'k'.repeat(1025) } } },
    ],
    ['a relative path', { ...chunk, input: { ...bytesInput, source: { path: 'data/x.log' } } }],
    ['a path with a NUL', { ...chunk, input: { ...bytesInput, source: { path: '/data/x\0' } } }],
    ['a path too long', { ...chunk, input: { ...bytesInput, source: { path: `/${'p'.repeat(5000)}` } } }],
    [
      'a path and a bucket',
      { ...chunk, input: { ...bytesInput, source: { path: '/x', bucket: 'my-logs', key: 'k' } } },
    ],
  ])('rejects %s with ProtocolError', (_what, body) => {
    expect(() => parseWorkMessage(body)).toThrow(ProtocolError);
  });
});

describe('parseDrainEvent()', () => {
  it('accepts a drain event and keeps only its fields', () => {
    expect(parseDrainEvent({ v: 1, type: 'drain', jobId: 'job-1', extra: 'x' })).toEqual({
      v: 1,
      type: 'drain',
      jobId: 'job-1',
    });
  });

  it.each<[string, unknown]>([
    ['an SQS batch', { Records: [] }],
    ['another version', { v: 2, type: 'drain', jobId: 'j' }],
    ['a chunk message', { v: 1, type: 'chunk', jobId: 'j' }],
    ['no job id', { v: 1, type: 'drain' }],
    ['an oversized job id', { v: 1, type: 'drain', jobId: 'j'.repeat(129) }],
    ['null', null],
  ])('rejects %s with ProtocolError', (_what, body) => {
    expect(() => parseDrainEvent(body)).toThrow(ProtocolError);
  });
});
