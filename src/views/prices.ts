/**
 * The AWS list prices fanfold's cost figures use, and their date: the one table of them, read by
 * the scale model (`scale-model.ts`), a job's cost report and its estimate (`cost.ts`). Prices
 * change and differ by Region, so a user overrides any of them: with the `prices` option of
 * `pool.estimate` / `awsJobs().cost`, or with `FANFOLD_PRICES`, the path of a JSON file of the
 * fields to change (the CLI reads it).
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import { received } from '../validate.js';

/** Prices in USD, and where and when they were read. */
export interface Prices {
  /** When these prices were read from AWS's pricing pages (`YYYY-MM-DD`). */
  readonly date: string;
  /** The Region they are for. */
  readonly region: string;
  /** One SQS request (standard queue, beyond the free tier): SendMessageBatch, ReceiveMessage, … */
  readonly sqsRequest: number;
  /** One Lambda request (invocation). */
  readonly lambdaRequest: number;
  /** One GB-second of Lambda duration (the construct's default architecture, Arm). */
  readonly lambdaGbSecond: number;
  /** One DynamoDB on-demand write request unit. */
  readonly wru: number;
  /** One DynamoDB on-demand read request unit. */
  readonly rru: number;
  /** One S3 PUT, COPY, POST or LIST request (Standard). */
  readonly s3Put: number;
  /** One S3 GET (and other) request (Standard). */
  readonly s3Get: number;
}

/** The list prices, us-east-1, on-demand, without free tier. */
export const LIST_PRICES: Prices = Object.freeze({
  date: '2026-12-07',
  region: 'us-east-1',
  sqsRequest: 0.4e-6,
  lambdaRequest: 0.2e-6,
  lambdaGbSecond: 0.0000133334,
  wru: 0.625e-6,
  rru: 0.125e-6,
  s3Put: 0.005e-3,
  s3Get: 0.0004e-3,
});

/** The environment variable naming a JSON file of prices over {@link LIST_PRICES}. */
export const PRICES_ENV = 'FANFOLD_PRICES';

const NUMERIC = ['sqsRequest', 'lambdaRequest', 'lambdaGbSecond', 'wru', 'rru', 's3Put', 's3Get'] as const;

/**
 * The list prices with `override`'s fields over them; each field checked (a price is a finite
 * number ≥ 0, `date` and `region` strings; no other field).
 *
 * @throws {InvalidArgumentError} naming the field, what it expects and what it got.
 * @example
 * ```ts
 * import { resolvePrices } from 'fanfold';
 *
 * const prices = resolvePrices({ region: 'eu-west-1', lambdaGbSecond: 0.0000133334 });
 * ```
 */
export function resolvePrices(override: unknown = {}, name = 'prices'): Prices {
  if (typeof override !== 'object' || override === null || Array.isArray(override))
    throw new InvalidArgumentError(`Expected ${name} to be an object of prices, got ${received(override)}`);
  const o = override as Record<string, unknown>;
  for (const [key, v] of Object.entries(o)) {
    if (key === 'date' || key === 'region') {
      if (typeof v !== 'string')
        throw new InvalidArgumentError(`Expected ${name}.${key} to be a string, got ${received(v)}`);
    } else if ((NUMERIC as readonly string[]).includes(key)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw new InvalidArgumentError(
          `Expected ${name}.${key} to be a price in USD (a number >= 0), got ${received(v)}`,
        );
    } else {
      throw new InvalidArgumentError(
        `Unknown field ${name}.${key}; expected date, region, ${NUMERIC.join(', ')}`,
      );
    }
  }
  return Object.freeze({ ...LIST_PRICES, ...(o as Partial<Prices>) });
}

/**
 * The prices the environment asks for: the JSON file that `FANFOLD_PRICES` names over the list
 * prices, else the list prices.
 *
 * @throws {InvalidArgumentError} when the file cannot be read or parsed, or a field is wrong.
 */
export function pricesFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Prices {
  const path = env[PRICES_ENV];
  if (path === undefined || path === '') return LIST_PRICES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InvalidArgumentError(
      `Expected ${PRICES_ENV} to name a JSON file of prices, got ${JSON.stringify(path)}: ${(e as Error).message}`,
    );
  }
  return resolvePrices(parsed, `${PRICES_ENV} (${path})`);
}
