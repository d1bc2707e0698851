import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  InvalidArgumentError,
  NotSerializableError,
  ProtocolError,
} from '../../../src/errors.js';
import { RING_WORD, Ring, TIMED_OUT } from '../../../src/local/sync/ring.js';
import { decode, encode } from '../../../src/local/sync/ring-codec.js';
import { feederOf } from '../../../src/local/sync/ring-feeder.js';

const TAG = 99;

/** Encodes and decodes through a plain buffer. */
function roundTrip(v: unknown): unknown {
  const bytes = Buffer.from(encode(v, 'test value'));
  return decode(bytes, 0, bytes.length);
}

function text(b: Buffer, start: number, end: number): string {
  return b.toString('utf8', start, end);
}

describe('Ring', () => {
  describe('create()', () => {
    it('rejects a capacity that is not a power of two from 64', () => {
      expect(() => Ring.create(TAG, 100)).toThrow(InvalidArgumentError);
      expect(() => Ring.create(TAG, 32)).toThrow(InvalidArgumentError);
    });
  });

  describe('revive()', () => {
    it('finds the same ring at its offset', () => {
      const ring = Ring.create(TAG, 64);
      expect(ring.tryWrite(Buffer.from('abc'))).toBe(true);
      expect(Ring.revive(ring.at, TAG, 'Test').tryRead(text)).toBe('abc');
    });

    it('refuses a ring made for another use (tag) and an offset where no ring is', () => {
      const ring = Ring.create(TAG, 64);
      expect(() => Ring.revive(ring.at, TAG + 1, 'Test')).toThrow(InvalidArgumentError);
      expect(() => Ring.revive(ring.at + 8, TAG, 'Test')).toThrow(InvalidArgumentError);
    });
  });

  describe('tryWrite() and tryRead()', () => {
    it('refuse a message that does not fit now, and read nothing from an empty ring', () => {
      const ring = Ring.create(TAG, 64);
      expect(ring.tryRead(text)).toBe(TIMED_OUT);
      expect(ring.tryWrite(Buffer.alloc(61))).toBe(false);
      expect(ring.tryWrite(Buffer.alloc(60))).toBe(true);
      expect(ring.tryWrite(Buffer.alloc(1))).toBe(false);
    });

    it('keep messages whole across the end of the data area and across the 2^32 wrap of the counters', () => {
      const ring = Ring.create(TAG, 64);
      // Counters 10 bytes below 2^32: frames straddle both the counter wrap and the buffer's end.
      Atomics.store(ring.words, RING_WORD.HEAD, -10);
      Atomics.store(ring.words, RING_WORD.TAIL, -10);
      for (let i = 0; i < 200; i++) {
        const m = `message ${i} ${'x'.repeat(i % 40)}`;
        expect(ring.tryWrite(Buffer.from(m))).toBe(true);
        expect(ring.tryRead(text)).toBe(m);
      }
      expect(ring.available()).toBe(0);
    });

    it('frees the bytes of a message that fails to decode (ProtocolError), so the next one reads', () => {
      const ring = Ring.create(TAG, 64);
      ring.tryWrite(Buffer.from('bad'));
      ring.tryWrite(Buffer.from('good'));
      expect(() =>
        ring.tryRead(() => {
          throw new Error('corrupt');
        }),
      ).toThrow(ProtocolError);
      expect(ring.tryRead(text)).toBe('good');
    });
  });

  describe('streaming', () => {
    it('carries messages many times the ring size, in order, from a feeder to a reader in one thread', async () => {
      const ring = Ring.create(TAG, 64);
      const feeder = feederOf(ring);
      const sizes = [500, 3, 1000, 61, 60, 0, 4096];
      const writes = sizes.map((n, k) => feeder.send(Buffer.alloc(n, 97 + k)));
      for (const [k, n] of sizes.entries()) {
        expect(await ring.read(text, Number.POSITIVE_INFINITY)).toBe(String.fromCharCode(97 + k).repeat(n));
      }
      await Promise.all(writes);
      expect(feeder.backlogBytes).toBe(0);
    });

    it('read() resolves TIMED_OUT when nothing began before the deadline', async () => {
      const ring = Ring.create(TAG, 64);
      expect(await ring.read(text, performance.now() + 10)).toBe(TIMED_OUT);
    });
  });
});

describe('ring codec', () => {
  it.each([
    ['integers', [0, 1, -1, 2 ** 31 - 1, -(2 ** 31)]],
    ['doubles, NaN, infinities and -0', [0.5, 2 ** 40, Number.NaN, Number.NEGATIVE_INFINITY, -0]],
    ['strings of every width', ['', 'ascii', 'é', '✓', '😀', 'a\u0000b']],
    ['booleans, null and undefined', [true, false, null, undefined]],
    ['nested plain arrays and objects', { a: [1, { b: ['c', null] }], e: {}, f: [] }],
    ['an own "__proto__" key', JSON.parse('{"__proto__": {"x": 1}, "y": 2}')],
  ])('round-trips %s as a structured clone would', (_, v) => {
    const back = roundTrip(v);
    expect(back).toEqual(v8.deserialize(v8.serialize(v)));
    expect(back).toEqual(v);
  });

  it('keeps -0 and the own "__proto__" key exactly', () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    const back = roundTrip(JSON.parse('{"__proto__": {"x": 1}}')) as object;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__']);
  });

  it.each([
    [
      'an object reached twice (identity)',
      () => {
        const shared = { s: 1 };
        return { a: shared, b: shared };
      },
    ],
    [
      'a cycle',
      () => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      },
    ],
    [
      'a sparse array',
      () => {
        const a: number[] = [];
        a[0] = 1;
        a[2] = 3;
        return a;
      },
    ],
    [
      'a Map, a Date, a BigInt and a typed array',
      () => [new Map([[1, 2]]), new Date(5), 7n, new Int16Array([3])],
    ],
    ['a value deeper than the fast path goes', () => JSON.parse(`${'['.repeat(40)}1${']'.repeat(40)}`)],
  ])('sends %s through v8.serialize, keeping it exactly', (_, make) => {
    const v = make();
    const back = roundTrip(v);
    expect(back).toEqual(v);
    if (typeof v === 'object' && v !== null && 'a' in v) {
      const b = back as { a: unknown; b: unknown };
      expect(b.a).toBe(b.b);
    }
    if (Array.isArray(v) && v.length === 3) expect(1 in (back as unknown[])).toBe(false);
    if (typeof v === 'object' && v !== null && 'self' in v) {
      const b = back as { self: unknown };
      expect(b.self).toBe(back);
    }
  });

  it('throws NotSerializableError for a function or a symbol', () => {
    expect(() => encode({ f: () => 1 }, 'x')).toThrow(NotSerializableError);
    let thrown: unknown;
    try {
      encode(Symbol('s'), 'x');
    } catch (e) {
      thrown = e;
    }
    expect((thrown as { code?: string }).code).toBe(ErrorCodes.NOT_SERIALIZABLE);
  });
});
