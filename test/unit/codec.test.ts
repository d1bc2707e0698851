import { describe, expect, it } from 'vitest';
import {
  decodeList,
  decodeValue,
  encodeList,
  encodeValue,
  f64View,
  spill,
  unspill,
} from '../../src/engine/codec.js';
import { NotSerializableError, ProtocolError } from '../../src/errors.js';
import { MemoryBlobStore } from '../../src/local/memory-blobs.js';

describe('codec', () => {
  describe('encodeList()', () => {
    it('encodes a list of numbers as Float64Array bytes, keeping NaN, -0 and infinities', () => {
      const xs = [1.5, Number.NaN, -0, Number.POSITIVE_INFINITY, -3];
      const e = encodeList(xs);
      expect(e.enc).toBe('f64');
      expect(e.bytes.byteLength).toBe(40);
      expect(Array.from(decodeList(e))).toEqual(xs);
      expect(Object.is(decodeList(e)[2], -0)).toBe(true);
    });

    it('round-trips structured-clone types through v8 encoding', () => {
      const xs = [
        new Map([['a', 1]]),
        new Set([1, 2]),
        new Date(5),
        10n ** 30n,
        new Uint8Array([1, 2]),
        { n: [1, { m: 'é' }] },
        null,
        undefined,
      ];
      const e = encodeList(xs);
      expect(e.enc).toBe('v8');
      expect(decodeList(e)).toEqual(xs);
    });

    it('names the position (offset + index) of an item that cannot be serialised', () => {
      const err = (() => {
        try {
          encodeList([1, 'a', () => 1], 'Item', 100);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(NotSerializableError);
      expect(err).toMatchObject({ position: 102, code: 'ERR_FANFOLD_NOT_SERIALIZABLE' });
    });
  });

  it('encodes one value as a one-item list', () => {
    expect(decodeValue(encodeValue({ a: new Set(['x']) }))).toEqual({ a: new Set(['x']) });
  });

  it('copies f64 bytes that are not 8-byte aligned instead of failing', () => {
    const buf = new Uint8Array(17);
    buf.set(new Uint8Array(new Float64Array([2.5, 7]).buffer), 1);
    expect(Array.from(f64View(buf.subarray(1)))).toEqual([2.5, 7]);
  });

  it('rejects f64 bytes whose length is not a multiple of 8, and v8 data that is not a list', () => {
    expect(() => f64View(new Uint8Array(9))).toThrow(ProtocolError);
    expect(() =>
      decodeList(encodeValue(1) && { enc: 'v8', bytes: new Uint8Array([255, 15, 73, 2]) }),
    ).toThrow(ProtocolError);
  });

  describe('spill() / unspill()', () => {
    it('keeps small payloads inline and stores large ones by reference, byte for byte', async () => {
      const blobs = new MemoryBlobStore();
      const small = encodeList([1, 2]);
      expect(await spill(small, 64, blobs, 'k1')).toBe(small);
      const big = encodeList(Array.from({ length: 100 }, (_, i) => `s${i}`));
      const ref = await spill(big, 64, blobs, 'k2');
      expect(ref).toEqual({ enc: 'v8', blob: 'k2', size: big.bytes.byteLength });
      expect(decodeList(await unspill(ref, blobs))).toEqual(decodeList(big));
    });

    it('rejects a blob whose size does not match its reference (truncation)', async () => {
      const blobs = new MemoryBlobStore();
      await blobs.put('k', new Uint8Array(10));
      await expect(unspill({ enc: 'v8', blob: 'k', size: 11 }, blobs)).rejects.toBeInstanceOf(ProtocolError);
    });

    it('reads a slice of a blob by its offset, and only that slice', async () => {
      const blobs = new MemoryBlobStore();
      const a = encodeList(['x', 'y']);
      const b = encodeList([3, 4, 5]);
      const both = new Uint8Array(a.bytes.byteLength + b.bytes.byteLength + 5);
      both.set(a.bytes, 0);
      both.set(b.bytes, a.bytes.byteLength);
      await blobs.put('segments', both);
      const ranges: unknown[] = [];
      const get = blobs.get.bind(blobs);
      blobs.get = (key, range) => {
        ranges.push(range);
        return get(key, range);
      };
      const slice = {
        enc: 'f64' as const,
        blob: 'segments',
        size: b.bytes.byteLength,
        offset: a.bytes.byteLength,
      };
      expect([...(decodeList(await unspill(slice, blobs)) as Float64Array)]).toEqual([3, 4, 5]);
      expect(ranges).toEqual([{ start: a.bytes.byteLength, end: a.bytes.byteLength + 24 }]);
      await expect(unspill({ ...slice, offset: both.byteLength - 8 }, blobs)).rejects.toBeInstanceOf(
        ProtocolError,
      );
    });
  });
});
