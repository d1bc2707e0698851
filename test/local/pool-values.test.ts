/**
 * Values crossing the threads: what v8's structured clone carries (Map, Set, Date, BigInt, typed
 * arrays, nested data, undefined) and the Float64Array fast path for numbers (NaN, -0, ±Infinity),
 * through map, imap, apply and starmap, as items, arguments and results.
 */
import { local, type Pool } from 'fanfold';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tasks from '../fixtures/pool-tasks.js';
import { collect } from '../support/collect.js';

type Tasks = typeof tasks.tasks;

const mp = local({ tasks });
let pool: Pool<Tasks>;

// One pool for the file: no test here closes or terminates it.
beforeAll(() => {
  pool = mp.Pool({ processes: 2 });
});
afterAll(async () => {
  await pool.terminate();
});

const VALUES: readonly (readonly [string, unknown, string])[] = [
  [
    'a Map',
    new Map<unknown, unknown>([
      ['a', 1],
      [2, { b: [3] }],
    ]),
    'Map',
  ],
  ['a Set', new Set([1, 'two', 3n]), 'Set'],
  ['a Date', new Date(Date.UTC(2024, 1, 29, 12)), 'Date'],
  ['a BigInt', 2n ** 100n, 'bigint'],
  ['a Uint8Array', new Uint8Array([0, 1, 255]), 'Uint8Array'],
  ['a Float32Array', new Float32Array([1.5, -2.25, 0]), 'Float32Array'],
  ['nested objects and arrays', { a: [1, { b: null, c: [true, 'x'] }], d: { e: { f: [] } } }, 'Object'],
  ['undefined', undefined, 'undefined'],
  ['null', null, 'null'],
  ['a unicode string', 'héllo, 世界 🌍\u0000\ud83d', 'string'],
  ['an empty string', '', 'string'],
  ['a boolean', false, 'boolean'],
];

const NUMBERS = [Number.NaN, -0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5, -1e308, 5e-324];

describe('Pool', () => {
  describe('values', () => {
    it.each(VALUES)('round-trips %s through map', async (_what, value) => {
      expect(await pool.map('identity', [value, value])).toStrictEqual([value, value]);
    });

    it.each(VALUES)('delivers %s to the task as itself', async (_what, value, kind) => {
      expect(await pool.apply('kind', [value])).toBe(kind);
    });

    it('round-trips every kind at once, in one chunk and across chunks', async () => {
      const values = VALUES.map(([, v]) => v);
      expect(await pool.map('identity', values)).toStrictEqual(values);
      expect(await pool.map('identity', values, { chunksize: 5 })).toStrictEqual(values);
      expect(await collect(pool.imap('identity', values, { chunksize: 2 }))).toStrictEqual(values);
      expect(await pool.apply('identity', [values])).toStrictEqual(values);
    });

    it('keeps NaN, -0 and ±Infinity through map, imap and apply', async () => {
      const runs: unknown[][] = [
        await pool.map('identity', NUMBERS),
        await pool.map('identity', NUMBERS, { chunksize: 3 }),
        await collect(pool.imap('identity', NUMBERS)),
        (await pool.apply('identity', [NUMBERS])) as unknown[],
      ];
      for (const got of runs) {
        expect(got).toHaveLength(NUMBERS.length);
        for (const [i, n] of NUMBERS.entries()) expect(Object.is(got[i], n), `item ${i}`).toBe(true);
      }
    });

    it('returns a plain array of numbers from a map of numbers', async () => {
      const got = await pool.map('square', [1, 2, 3]);
      expect(Array.isArray(got)).toBe(true);
      expect(got).toStrictEqual([1, 4, 9]);
    });

    it('round-trips arrays that mix numbers with other values', async () => {
      const mixed = [1, 'a', 2, undefined, 3, null, 4n, -0, Number.NaN];
      expect(await pool.map('identity', mixed, { chunksize: 2 })).toStrictEqual(mixed);
      // Numbers first, then a string: the worker's result list turns from numbers into values.
      expect(await pool.map('identity', [1, 2, 3, 'x'], { chunksize: 4 })).toStrictEqual([1, 2, 3, 'x']);
      expect(await pool.map('kind', mixed)).toEqual([
        'number',
        'string',
        'number',
        'undefined',
        'number',
        'null',
        'bigint',
        'number',
        'number',
      ]);
    });

    it('passes mixed argument types through starmap', async () => {
      expect(
        await pool.starmap('repeat', [
          ['ab', 2],
          ['🌍', 3],
        ]),
      ).toEqual(['abab', '🌍🌍🌍']);
    });
  });
});
