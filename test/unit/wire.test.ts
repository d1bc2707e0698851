import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { decodeBody, encodeBody } from '../../src/aws/wire.js';
import type { WorkMessage } from '../../src/ports.js';

describe('wire', () => {
  it('round-trips a payload held in a Buffer (v8.serialize returns one), not its toJSON form', () => {
    const bytes = serialize(['a', new Map([[1, 2]])]);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    const m: WorkMessage = {
      v: 1,
      type: 'chunk',
      jobId: 'j',
      index: 0,
      task: 't',
      mode: 'map',
      input: { kind: 'items', offset: 0, count: 2, data: { enc: 'v8', bytes } },
    };
    const back = decodeBody(encodeBody(m)) as WorkMessage & { type: 'chunk' };
    const data = back.input.kind === 'items' ? back.input.data : undefined;
    expect(data && 'bytes' in data && data.bytes).toEqual(new Uint8Array(bytes));
    expect(encodeBody(m)).not.toContain('"type":"Buffer"');
  });
});
