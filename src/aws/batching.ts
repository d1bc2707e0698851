/**
 * Helpers shared by the AWS adapters' batch calls: splitting into batches, bounded parallelism,
 * and the bounds of the backoff between retries of the entries a batch API reports as unprocessed. (Whole
 * requests that fail are retried by the SDK's own retry strategy; these helpers only cover the
 * partial failures the SDK hands back as success.)
 */
import type { BackoffBounds } from '../backoff.js';

/** Splits `items` into consecutive groups of at most `size`. */
export function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `fn` over `items` with at most `limit` calls in flight; rejects with the first error. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await fn(items[i] as T, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** The longest pause between two retries of a batch call's unprocessed entries. */
export const RETRY_MAX_MS = 5_000;

/** The backoff bounds (`src/backoff.ts`) of a batch call's retries, from its base delay. */
export function retryBounds(baseMs: number): BackoffBounds {
  return { min: baseMs, max: Math.max(baseMs, RETRY_MAX_MS) };
}
