/**
 * Helpers shared by the AWS adapters' batch calls: splitting into batches, bounded parallelism,
 * and the backoff between retries of the entries a batch API reports as unprocessed. (Whole
 * requests that fail are retried by the SDK's own retry strategy; these helpers only cover the
 * partial failures the SDK hands back as success.)
 */
import { setTimeout as sleep } from 'node:timers/promises';

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

/** Backoff before retry `attempt` (1 = the first retry): full jitter over an exponential cap. */
export function backoff(attempt: number, baseMs: number, capMs = 5_000): Promise<void> {
  const ceiling = Math.min(capMs, baseMs * 2 ** (attempt - 1));
  return sleep(Math.random() * ceiling);
}
