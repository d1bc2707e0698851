/**
 * The multi-item DynamoDB calls of `DynamoJobStore`, with the retries the SDK leaves to callers:
 * the unprocessed keys and items of BatchGetItem and BatchWriteItem, and transactions cancelled by
 * a conflict or throttling.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type CancellationReason,
  type DynamoDBClient,
  TransactionCanceledException,
  type TransactWriteItemsCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { backoff } from '../backoff.js';
import { retryBounds } from './batching.js';
import { AwsBatchError } from './errors.js';

type Item = Record<string, AttributeValue>;

/** How often, and how patiently, unprocessed work is tried again. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Base of the jittered exponential backoff, in ms. */
  readonly baseMs: number;
}

/** Reason codes of a cancelled transaction that a retry can clear. */
const TRANSIENT_REASONS: ReadonlySet<string> = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
]);

/**
 * Runs a transaction. Resolves `undefined` when it committed, or the cancellation reasons when a
 * condition failed. A cancellation for conflicts or throttling only is retried with a new command
 * (within one command the SDK sends the same ClientRequestToken on each of its own retries, so a
 * lost response never applies a transaction twice); anything else is rethrown.
 */
export async function transactWrite(
  client: DynamoDBClient,
  command: () => TransactWriteItemsCommand,
  retry: RetryPolicy,
): Promise<CancellationReason[] | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.send(command());
      return undefined;
    } catch (e) {
      if (!(e instanceof TransactionCanceledException)) throw e;
      const reasons = e.CancellationReasons ?? [];
      if (reasons.some((r) => r.Code === 'ConditionalCheckFailed')) return reasons;
      const transient = reasons.every((r) => !r.Code || r.Code === 'None' || TRANSIENT_REASONS.has(r.Code));
      if (!transient || attempt >= retry.attempts) throw e;
      await backoff(attempt - 1, retryBounds(retry.baseMs));
    }
  }
}

/** Strongly consistent BatchGetItem of at most 100 keys, retrying unprocessed keys. */
export async function batchGet(
  client: DynamoDBClient,
  table: string,
  keys: readonly Item[],
  retry: RetryPolicy,
): Promise<Item[]> {
  const items: Item[] = [];
  let pending = [...keys];
  for (let attempt = 1; pending.length > 0; attempt++) {
    const out = await client.send(
      new BatchGetItemCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
    );
    items.push(...(out.Responses?.[table] ?? []));
    pending = out.UnprocessedKeys?.[table]?.Keys ?? [];
    if (pending.length === 0) break;
    if (attempt >= retry.attempts) {
      const failures = pending.map((k) => ({ id: k.sk?.S ?? '?', code: 'Unprocessed' }));
      throw new AwsBatchError('DynamoDB.BatchGetItem', failures, attempt);
    }
    await backoff(attempt - 1, retryBounds(retry.baseMs));
  }
  return items;
}

/** BatchWriteItem deleting at most 25 keys, retrying unprocessed items. */
export async function batchDelete(
  client: DynamoDBClient,
  table: string,
  keys: readonly Item[],
  retry: RetryPolicy,
): Promise<void> {
  let requests: WriteRequest[] = keys.map((k) => ({ DeleteRequest: { Key: { pk: k.pk!, sk: k.sk! } } }));
  for (let attempt = 1; requests.length > 0; attempt++) {
    const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
    requests = out.UnprocessedItems?.[table] ?? [];
    if (requests.length === 0) return;
    if (attempt >= retry.attempts) {
      const failures = requests.map((r) => ({ id: r.DeleteRequest?.Key?.sk?.S ?? '?', code: 'Unprocessed' }));
      throw new AwsBatchError('DynamoDB.BatchWriteItem', failures, attempt);
    }
    await backoff(attempt - 1, retryBounds(retry.baseMs));
  }
}
