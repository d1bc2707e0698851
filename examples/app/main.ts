/**
 * An application that uses a deployed fanfold stack: a plain Node program that calls the stack's
 * functions through the AWS SDK with `aws({ tasks, stack })`, prints each result and how long it
 * took. Nothing here is specific to the emulators: the SDK finds credentials, region and endpoints
 * as usual (`AWS_PROFILE`/`AWS_REGION`, or `AWS_ENDPOINT_URL_*` for local endpoints).
 *
 *   FANFOLD_STACK=FanfoldExample node --import tsx examples/app/main.ts      # against AWS
 *   npm run example:app                                                      # against the emulators
 */
import { aws, range, TaskError } from 'fanfold';
import tasks, { type Span } from './tasks.js';

const stack = process.env.FANFOLD_STACK || 'FanfoldExample';
/** Primes below this; split into `SPANS` ranges, one task each. */
const LIMIT = Number(process.env.EXAMPLE_LIMIT ?? 2_000_000);
const SPANS = 40;

async function timed<R>(label: string, body: () => Promise<R>): Promise<R> {
  const start = performance.now();
  const result = await body();
  const ms = performance.now() - start;
  const shown = JSON.stringify(result);
  console.log(
    `${label.padEnd(34)} ${(ms / 1000).toFixed(2).padStart(6)} s  ${shown.length > 70 ? `${shown.slice(0, 67)}...` : shown}`,
  );
  return result;
}

const step = Math.ceil(LIMIT / SPANS);
const spans: Span[] = [...range(0, LIMIT, step)].map((from) => [from, Math.min(from + step, LIMIT)]);

console.log(`fanfold application example: stack ${stack}, primes below ${LIMIT.toLocaleString('en')}`);
const mp = aws({ tasks, stack });
await using pool = mp.Pool({ jobTimeoutMs: 120_000 });

await timed('apply checkPrime(2_147_483_647)', () => pool.apply('checkPrime', [2_147_483_647]));
const perSpan = await timed(`map countPrimes over ${spans.length} spans`, () =>
  pool.map('countPrimes', spans, { chunksize: 4 }),
);
const total = await timed('mapReduce countPrimes, add', () =>
  pool.mapReduce('countPrimes', spans, 'add', { chunksize: 4 }),
);
if (total !== perSpan.reduce((a, b) => a + b, 0)) throw new Error('mapReduce disagrees with map');

const firstSpans: number[] = [];
await timed('imap: first 3 results as they come', async () => {
  for await (const n of pool.imap('countPrimes', spans, { chunksize: 4 })) {
    firstSpans.push(n);
    if (firstSpans.length === 3) break; // cancels the rest of the job
  }
  return firstSpans;
});

try {
  await pool.map('checkPrime', [7, -1, 9]);
} catch (e) {
  if (!(e instanceof TaskError)) throw e;
  console.log(`${'map checkPrime([7, -1, 9])'.padEnd(34)} rejected: ${e.message}`);
}
console.log(`${total.toLocaleString('en')} primes below ${LIMIT.toLocaleString('en')}`);
