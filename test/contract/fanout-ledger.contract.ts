/**
 * The FanoutLedger contract: what every adapter (memory, DynamoDB) must do, through the port only.
 * Each test uses fresh job ids, so adapters may share one table across tests.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import type { FanoutLedger } from '../../src/ports.js';

/** Makes a ledger for one test. */
export type MakeFanoutLedger = () => Promise<FanoutLedger>;

/** Declares the FanoutLedger contract suite for one adapter. */
export function describeFanoutLedgerContract(name: string, make: MakeFanoutLedger): void {
  describe(`FanoutLedger contract (${name})`, () => {
    let ledger: FanoutLedger;
    let job: string;
    beforeEach(async () => {
      ledger = await make();
      job = `fan-${randomUUID()}`;
    });

    it('has no progress for a range never advanced', async () => {
      expect(await ledger.progress(job, 0)).toBeUndefined();
      expect(await ledger.progress(job, 1_000)).toBeUndefined();
    });

    it('returns the last progress recorded for a range', async () => {
      await ledger.advance(job, 2_000, 2_160);
      expect(await ledger.progress(job, 2_000)).toBe(2_160);
      await ledger.advance(job, 2_000, 4_000);
      expect(await ledger.progress(job, 2_000)).toBe(4_000);
    });

    it('never moves progress back (a late write of a duplicated leaf)', async () => {
      await ledger.advance(job, 0, 900);
      await ledger.advance(job, 0, 300);
      await ledger.advance(job, 0, 900);
      expect(await ledger.progress(job, 0)).toBe(900);
    });

    it('keeps the largest of concurrent advances', async () => {
      const nexts = Array.from({ length: 20 }, (_, k) => 100 + ((k * 37) % 20) * 10);
      await Promise.all(nexts.map((n) => ledger.advance(job, 100, n)));
      expect(await ledger.progress(job, 100)).toBe(Math.max(...nexts));
    });

    it('keeps ranges and jobs apart', async () => {
      const other = `fan-${randomUUID()}`;
      await ledger.advance(job, 0, 10);
      await ledger.advance(job, 10, 20);
      await ledger.advance(other, 0, 5);
      expect(await ledger.progress(job, 0)).toBe(10);
      expect(await ledger.progress(job, 10)).toBe(20);
      expect(await ledger.progress(other, 0)).toBe(5);
      expect(await ledger.progress(other, 10)).toBeUndefined();
    });

    it('refuses progress before the range starts, and negative or fractional indices', async () => {
      await expect(ledger.advance(job, 10, 9)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(ledger.advance(job, -1, 9)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(ledger.progress(job, 0.5)).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await ledger.progress(job, 10)).toBeUndefined();
    });
  });
}
