/**
 * `AsyncResult`'s timeouts, as every other timeout of fanfold: a negative one counts as 0 (CPython's
 * `get(-1)` does not wait), and one that is not a number is refused before any wait.
 */
import { describe, expect, it } from 'vitest';
import { AsyncResult } from '../../src/api/async-result.js';
import { ErrorCodes } from '../../src/errors.js';

/** A result that never settles. */
const pending = () => new AsyncResult<number>(new Promise<number>(() => {}));

describe('AsyncResult', () => {
  describe('get()', () => {
    it('rejects with TimeoutError at once for a negative timeout (it counts as 0)', async () => {
      await expect(pending().get(-1)).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
      await expect(pending().get(-Infinity)).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
    });

    it('resolves a ready result for a negative timeout', async () => {
      const r = new AsyncResult(Promise.resolve(7));
      await r.wait();
      expect(await r.get(-1)).toBe(7);
    });

    it.each([
      ['NaN', Number.NaN],
      ['a string', '100'],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['null', null],
    ])('rejects %s with InvalidArgumentError naming timeoutMs', async (_, t) => {
      const e = await pending()
        .get(t as number)
        .catch((x: unknown) => x);
      expect(e).toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
      expect(String((e as Error).message)).toContain('timeoutMs');
    });
  });

  describe('wait()', () => {
    it('returns at once for a negative timeout, and refuses NaN', async () => {
      await expect(pending().wait(-5)).resolves.toBeUndefined();
      await expect(pending().wait(Number.NaN)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    });
  });
});
