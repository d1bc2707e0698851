import { describe, expect, it } from 'vitest';
import { load, store } from '../../src/local/message-copy.js';

const message = () => ({
  v: 1,
  type: 'chunk',
  jobId: 'j',
  index: 2,
  task: 'square',
  mode: 'map',
  input: {
    kind: 'items',
    offset: 0,
    count: 2,
    data: { enc: 'f64', bytes: new Uint8Array(new Float64Array([1, 2]).buffer) },
  },
});

describe('message-copy', () => {
  it('delivers a copy that shares nothing with the sent message or with other deliveries', () => {
    const sent = message();
    const { stored } = store(sent);
    sent.input.data.bytes[0] = 99;
    sent.input.count = 7;
    const a = load(stored) as ReturnType<typeof message>;
    const b = load(stored) as ReturnType<typeof message>;
    expect(a).toEqual(message());
    a.input.data.bytes[1] = 42;
    expect(b).toEqual(message());
    expect(a.input.data.bytes.buffer).not.toBe(b.input.data.bytes.buffer);
  });

  it('counts payload bytes in the size, so the queue can enforce the SQS limit', () => {
    const big = message();
    big.input.data.bytes = new Uint8Array(100_000);
    expect(store(big).size).toBeGreaterThan(100_000);
    expect(store(message()).size).toBeLessThan(400);
  });

  it('falls back to v8 for other shapes and delivers them faithfully', () => {
    const odd = { v: 1, at: new Date(3), tags: new Set(['a']), n: 10n, list: [1, { x: 2 }] };
    const { stored } = store(odd);
    expect(stored.kind).toBe('v8');
    expect(load(stored)).toEqual(odd);
    expect(load(store('just a string').stored)).toBe('just a string');
  });
});
