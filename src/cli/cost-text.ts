/**
 * A cost report as `fanfold status` and `fanfold estimate` print it: one fact a row, the
 * dollars by service, the prices' Region and date.
 */
import type { CostReport } from '../views/cost.js';
import { number } from './output.js';

/** USD with as many decimals as a small figure needs. */
export function usd(d: number): string {
  if (d === 0) return '$0';
  return `$${d >= 1 ? d.toFixed(2) : d.toPrecision(3)}`;
}

/** The rows of a cost report: requests, units, GB-seconds, dollars, prices. */
export function costRows(c: CostReport, memoryMb: number, threads: number): [string, string][] {
  return [
    [
      'requests',
      `SQS ${number(c.requests.sqs)} · Lambda ${number(c.requests.lambda)} · S3 ${number(c.requests.s3)}`,
    ],
    ['DynamoDB', `${number(c.writeUnits)} write units · ${number(c.readUnits)} read units`],
    ['Lambda time', `${number(c.lambdaGbSeconds)} GB-s (chunk time × ${memoryMb} MB ÷ ${threads} threads)`],
    [
      'cost',
      `${usd(c.usd.total)} (SQS ${usd(c.usd.sqs)}, Lambda ${usd(c.usd.lambda)}, DynamoDB ${usd(c.usd.dynamodb)}, S3 ${usd(c.usd.s3)})`,
    ],
    ['prices', `${c.prices.region} list prices of ${c.prices.date} ($FANFOLD_PRICES overrides)`],
  ];
}

/** Rows as `key  value` lines, the keys padded to one width. */
export function formatRows(rows: readonly [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
