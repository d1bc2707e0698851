/**
 * The BlobStore contract: what every adapter (memory, S3) must do, through the port only.
 * Each test writes under a fresh prefix, so adapters may share one bucket across tests.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, InvalidArgumentError, ProtocolError } from '../../src/errors.js';
import type { BlobStore } from '../../src/ports.js';

/** A blob store made fresh for one test. */
export interface BlobStoreHarness {
  readonly blobs: BlobStore;
  close(): Promise<void> | void;
}

/** Makes a harness. */
export type MakeBlobStore = () => Promise<BlobStoreHarness>;

/** Declares the BlobStore contract suite for one adapter. */
export function describeBlobStoreContract(name: string, make: MakeBlobStore): void {
  describe(`BlobStore contract (${name})`, () => {
    let harness: BlobStoreHarness;
    let blobs: BlobStore;
    let base: string;
    beforeEach(async () => {
      harness = await make();
      blobs = harness.blobs;
      base = `test-${randomUUID()}/`;
    });
    afterEach(async () => {
      await blobs.deletePrefix(base);
      await harness.close();
    });

    describe('put() and get()', () => {
      it('returns the bytes that were put, as a copy', async () => {
        const bytes = new Uint8Array([0, 1, 254, 255, 7]);
        await blobs.put(`${base}a`, bytes);
        bytes.fill(9);
        const got = await blobs.get(`${base}a`);
        expect([...got]).toEqual([0, 1, 254, 255, 7]);
        got.fill(3);
        expect([...(await blobs.get(`${base}a`))]).toEqual([0, 1, 254, 255, 7]);
      });

      it('round-trips an empty blob and replaces a blob put again', async () => {
        await blobs.put(`${base}empty`, new Uint8Array(0));
        expect((await blobs.get(`${base}empty`)).byteLength).toBe(0);
        await blobs.put(`${base}empty`, new Uint8Array([4]));
        expect([...(await blobs.get(`${base}empty`))]).toEqual([4]);
      });

      it('throws ProtocolError for a key with no blob', async () => {
        const getting = blobs.get(`${base}missing`);
        await expect(getting).rejects.toBeInstanceOf(ProtocolError);
        await expect(getting).rejects.toMatchObject({ code: ErrorCodes.PROTOCOL });
      });
    });

    describe('get() of a range', () => {
      const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) % 256);

      it('returns exactly the bytes [start, end), as a copy', async () => {
        await blobs.put(`${base}r`, bytes);
        for (const [start, end] of [
          [0, 1],
          [0, 300],
          [17, 18],
          [100, 299],
          [299, 300],
        ] as const) {
          const got = await blobs.get(`${base}r`, { start, end });
          expect([...got]).toEqual([...bytes.subarray(start, end)]);
        }
        const got = await blobs.get(`${base}r`, { start: 5, end: 9 });
        got.fill(0);
        expect([...(await blobs.get(`${base}r`, { start: 5, end: 9 }))]).toEqual([...bytes.subarray(5, 9)]);
      });

      it('throws ProtocolError, never fewer bytes, for a range past the end of the blob', async () => {
        await blobs.put(`${base}r`, bytes);
        await expect(blobs.get(`${base}r`, { start: 290, end: 301 })).rejects.toBeInstanceOf(ProtocolError);
        await expect(blobs.get(`${base}r`, { start: 300, end: 301 })).rejects.toBeInstanceOf(ProtocolError);
        await expect(blobs.get(`${base}r`, { start: 5_000, end: 5_001 })).rejects.toBeInstanceOf(
          ProtocolError,
        );
      });

      it('throws ProtocolError for a key with no blob', async () => {
        await expect(blobs.get(`${base}missing`, { start: 0, end: 1 })).rejects.toBeInstanceOf(ProtocolError);
      });

      it('refuses an empty, reversed or negative range with InvalidArgumentError, reading nothing', async () => {
        await blobs.put(`${base}r`, bytes);
        for (const range of [
          { start: 3, end: 3 },
          { start: 4, end: 3 },
          { start: -1, end: 3 },
          { start: 0.5, end: 3 },
        ])
          await expect(blobs.get(`${base}r`, range)).rejects.toBeInstanceOf(InvalidArgumentError);
      });
    });

    describe('deletePrefix()', () => {
      it('deletes the blobs under the prefix and no others', async () => {
        for (const key of ['p/a', 'p/b/c', 'px', 'q/p/a'])
          await blobs.put(`${base}${key}`, new Uint8Array([1]));
        await blobs.deletePrefix(`${base}p/`);
        await expect(blobs.get(`${base}p/a`)).rejects.toBeInstanceOf(ProtocolError);
        await expect(blobs.get(`${base}p/b/c`)).rejects.toBeInstanceOf(ProtocolError);
        expect([...(await blobs.get(`${base}px`))]).toEqual([1]);
        expect([...(await blobs.get(`${base}q/p/a`))]).toEqual([1]);
      });

      it('deletes at most maxKeys a call, saying whether more may remain', async () => {
        const keys = ['a', 'b', 'c', 'd', 'e'].map((k) => `${base}p/${k}`);
        for (const key of keys) await blobs.put(key, new Uint8Array([1]));
        await blobs.put(`${base}q`, new Uint8Array([2]));
        const left = async () =>
          (
            await Promise.all(
              keys.map((k) =>
                blobs.get(k).then(
                  () => 1,
                  () => 0,
                ),
              ),
            )
          ).reduce((a, b) => a + b, 0);
        expect(await blobs.deletePrefix(`${base}p/`, { maxKeys: 2 })).toEqual({ more: true });
        expect(await left()).toBe(3);
        expect(await blobs.deletePrefix(`${base}p/`, { maxKeys: 2 })).toEqual({ more: true });
        expect(await blobs.deletePrefix(`${base}p/`, { maxKeys: 2 })).toEqual({ more: false });
        expect(await left()).toBe(0);
        expect(await blobs.deletePrefix(`${base}p/`)).toEqual({ more: false });
        expect([...(await blobs.get(`${base}q`))]).toEqual([2]);
      });
    });
  });
}
