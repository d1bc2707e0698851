/**
 * The IAM actions of each role the `Fanfold` construct writes, and of each `grant*` helper: what
 * the code on that path sends, nothing more. `test/infra/iam.test.ts` derives the same lists from
 * the code (the SDK commands reachable from each function's handler, from a `Pool`, from the
 * primitives) and compares them with the synthesised template, so a new SDK call without its
 * permission, or a permission no code uses any more, fails there.
 *
 * A `TransactWriteItems` needs the action of each kind of item it holds: its `ConditionCheck`
 * entries need `dynamodb:ConditionCheckItem`. `HeadObject` needs `s3:GetObject`;
 * `ListObjectsV2`, `s3:ListBucket`; `DeleteObjects`, `s3:DeleteObject`.
 */

/** The engine's host on the job table (worker): read jobs and results, record chunks, fail jobs. */
export const HOST_TABLE_ACTIONS: readonly string[] = [
  'dynamodb:BatchGetItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
];

/**
 * The coordinator on the job table: create, seal, cancel, expire, fail and release jobs
 * (conditional puts and updates, and the reads of a refused write), and read a job with its shard
 * counters (BatchGetItem), which a seal does to mark the shards already complete. Releasing is a
 * tombstone (an update): the items expire by TTL, nothing is deleted.
 */
export const COORDINATOR_TABLE_ACTIONS: readonly string[] = [
  'dynamodb:BatchGetItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
];

/**
 * The dead-letter function on the job table: read the chunk's last error, note one when the last
 * delivery left none (its container was killed: PutItem), fail its job.
 */
// The dead-letter function reads a job whole (the job item and its shard counters: BatchGetItem) to
// tell a forged or stale dead letter from a real one before it fails the job.
export const DEAD_LETTER_TABLE_ACTIONS: readonly string[] = [
  'dynamodb:BatchGetItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
];

/**
 * The AWS context's primitives on the job table (locks, values, queue counters, managers): item
 * reads and writes, a manager's queries and batches, and fenced writes (a transaction with a
 * ConditionCheck on the lock's item).
 */
export const PRIMITIVES_TABLE_ACTIONS: readonly string[] = [
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];

/** A caller running pools (`grantSubmit`) on the job table: read a job and its results. */
export const SUBMIT_TABLE_ACTIONS: readonly string[] = ['dynamodb:BatchGetItem', 'dynamodb:GetItem'];

/** An operator listing jobs (`grantOperate`), on the table's listing index only. */
export const LIST_INDEX_ACTIONS: readonly string[] = ['dynamodb:Query'];

/** The sweeper on the job table: read a queue's registry item, write its tombstone. */
export const SWEEPER_TABLE_ACTIONS: readonly string[] = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];

/** Payloads under the bucket's `fanfold/` prefix, read and written by callers and the worker. */
export const PAYLOAD_READ_WRITE: readonly string[] = ['s3:GetObject', 's3:PutObject'];

/**
 * Payloads as the coordinator handles them: read and written, and deleted by prefix when a job is
 * released (ListObjectsV2 then DeleteObjects).
 */
export const PAYLOAD_READ_WRITE_DELETE: readonly string[] = [
  's3:DeleteObject',
  's3:GetObject',
  's3:PutObject',
];

/** Union of action lists, sorted, each once. */
export function actions(...lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())].sort();
}
