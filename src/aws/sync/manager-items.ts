/**
 * The items of the AWS `Manager`'s objects and the requests they share: a dict is one item per key,
 * a list one item; values over the inline limits go to the bucket under `sync/<managerId>/`,
 * written before the item that names them. The layout: docs/primitives.md, section 3.8.
 */

import { randomUUID } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import type { AttributeValue, WriteRequest } from '@aws-sdk/client-dynamodb';
import { rejecting } from '../../api/manager-args.js';
import { revivedValue, storable } from '../../api/manager-values.js';
import { backoff } from '../../backoff.js';
import { deadlineOf, expired } from '../../deadline.js';
import { ClosedError, NotSerializableError } from '../../errors.js';
import type { Reviver } from '../../handles.js';
import { chunksOf, retryBounds } from '../batching.js';
import { AwsBatchError } from '../errors.js';
import { type AwsSyncEnv, sdk } from './env.js';
import { ttl } from './items.js';

/** A DynamoDB item as the SDK returns it. */
export type Item = Record<string, AttributeValue>;

/** A dict value's serialised form above which it goes to the bucket (DynamoDB's item limit is 400 KB). */
export const DICT_INLINE_BYTES = 350 * 1024;

/** A list element's serialised form above which it goes to the bucket (the whole list shares one 400 KB item). */
export const LIST_INLINE_BYTES = 16 * 1024;

/** Attempts of a BatchWriteItem's unprocessed items, the first included. */
const BATCH_ATTEMPTS = 8;

/** What a manager's objects share in one party: the environment, the manager's id, and whether it shut down. */
export interface ManagerScope {
  readonly env: AwsSyncEnv;
  readonly managerId: string;
  /** Revives the handle of a managed dict or list held in a value, in this party. */
  readonly revive: Reviver;
  /** Set by `shutdown()` of the manager in this party; its proxies here then throw `ClosedError`. */
  closed: boolean;
  /** The operations of this party's proxies still running: `shutdown()` lets them end before deleting. */
  readonly inflight: Set<Promise<unknown>>;
}

/** A new scope for manager `managerId` in this party; `revive` makes the proxies of nested objects. */
export function newScope(env: AwsSyncEnv, managerId: string, revive: Reviver): ManagerScope {
  return { env, managerId, revive, closed: false, inflight: new Set() };
}

/**
 * Runs one proxy operation: `check` (the arguments, synchronously, before any effect), then the
 * open check, then `ready` (the object's initial values), then `f`; tracked in `scope.inflight`.
 */
export function runOp<T>(
  scope: ManagerScope,
  check: () => void,
  ready: () => Promise<void>,
  f: () => Promise<T>,
): Promise<T> {
  const p = rejecting(async () => {
    check();
    checkOpen(scope);
    await ready();
    return f();
  });
  scope.inflight.add(p);
  const forget = () => scope.inflight.delete(p);
  p.then(forget, forget);
  return p;
}

/** Throws `ClosedError` once the manager shut down in this party. */
export function checkOpen(scope: ManagerScope): void {
  if (scope.closed) throw new ClosedError('The manager has been shut down');
}

/** The partition key of one object's items. */
export function objectPk(scope: ManagerScope, objectId: string): AttributeValue {
  return { S: `SYNC#${scope.managerId}#${objectId}` };
}

/** A value serialised, before anything is stored: a number DynamoDB can hold exactly, or bytes. */
export type Serialised = { readonly n: string } | { readonly bytes: Uint8Array };

/**
 * Serialises `value` synchronously, so a value that cannot be serialised fails before any request.
 * Finite numbers in plain decimal notation are kept as numbers, so that `increment` can be one ADD.
 * A managed dict or list in it is stored as its handle (`storable`).
 */
export function serialised(value: unknown, what: string, asNumber: boolean): Serialised {
  if (asNumber && typeof value === 'number' && Number.isFinite(value) && !Object.is(value, -0)) {
    const n = String(value);
    if (!/e/i.test(n)) return { n };
  }
  const v = storable(value, what, 'aws');
  try {
    return { bytes: serialize(v) };
  } catch (e) {
    throw new NotSerializableError(what, undefined, e);
  }
}

/** `value` as a stored element reads back, unrevived (what `count`, `index` and `remove` compare). */
export function asStored(value: unknown, what: string): unknown {
  const s = serialised(value, what, false);
  return 'n' in s ? Number(s.n) : deserialize(s.bytes);
}

/** Stores a serialised value: inline, or in the bucket when over `limit`. Resolves the attribute. */
export async function stored(scope: ManagerScope, s: Serialised, limit: number): Promise<AttributeValue> {
  if ('n' in s) return { N: s.n };
  if (s.bytes.byteLength <= limit) return { B: s.bytes };
  const { PutObjectCommand } = await sdk.s3();
  const { s3 } = await scope.env.clients();
  const key = `sync/${scope.managerId}/${randomUUID()}`;
  await s3.send(new PutObjectCommand({ Bucket: scope.env.bucket, Key: key, Body: s.bytes }));
  return { S: key };
}

/** Reads a value back from its attribute (`N`, `B` or a bucket key in `S`); nested objects as proxies. */
export async function loaded(scope: ManagerScope, a: AttributeValue): Promise<unknown> {
  return revivedValue(await loadedRaw(scope, a), 'aws', scope.revive);
}

/** Reads a value back from its attribute, nested objects left as their handles. */
export async function loadedRaw(scope: ManagerScope, a: AttributeValue): Promise<unknown> {
  if (a.N !== undefined) return Number(a.N);
  if (a.B !== undefined) return deserialize(a.B);
  const { GetObjectCommand } = await sdk.s3();
  const { s3 } = await scope.env.clients();
  const out = await s3.send(new GetObjectCommand({ Bucket: scope.env.bucket, Key: a.S }));
  return deserialize(
    await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

/**
 * Runs a read (`f` reads items, then the blobs they name) again when a blob is gone: another party
 * replaced or removed the value between the two reads, and deletes a blob only once no item names
 * it, so reading the items again sees the newer state.
 */
export async function rereadOnMissingBlob<T>(f: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      if (!(e instanceof Error && e.name === 'NoSuchKey') || attempt >= 10) throw e;
    }
  }
}

/** The bucket key an attribute names, if it is a reference. */
export function blobOf(a: AttributeValue | undefined): string | undefined {
  return a?.S;
}

/** Deletes blobs no item names any more (best effort: `shutdown()` deletes the whole prefix anyway). */
export async function dropBlobs(scope: ManagerScope, keys: readonly (string | undefined)[]): Promise<void> {
  const present = keys.filter((k): k is string => k !== undefined);
  if (present.length === 0) return;
  const { DeleteObjectsCommand } = await sdk.s3();
  const { s3 } = await scope.env.clients();
  for (const part of chunksOf(present, 1000)) {
    await s3
      .send(
        new DeleteObjectsCommand({
          Bucket: scope.env.bucket,
          Delete: { Objects: part.map((Key) => ({ Key })), Quiet: true },
        }),
      )
      .catch(() => undefined);
  }
}

/** Deletes every blob of the manager (its whole prefix). */
export async function dropAllBlobs(scope: ManagerScope): Promise<void> {
  const { ListObjectsV2Command } = await sdk.s3();
  const { s3 } = await scope.env.clients();
  let token: string | undefined;
  do {
    const out = await s3.send(
      new ListObjectsV2Command({
        Bucket: scope.env.bucket,
        Prefix: `sync/${scope.managerId}/`,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    await dropBlobs(
      scope,
      (out.Contents ?? []).map((o) => o.Key),
    );
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
}

/** The TTL attribute, fresh. */
export function ttlAttribute(): Item {
  const [name, value] = ttl();
  return { [name]: value };
}

/** Every item of partition `pk`, strongly consistent, page by page; `projection` names the attributes to read. */
export async function queryAll(
  scope: ManagerScope,
  pk: AttributeValue,
  projection?: readonly string[],
): Promise<Item[]> {
  const { QueryCommand } = await sdk.dynamo();
  const { dynamo } = await scope.env.clients();
  const items: Item[] = [];
  let start: Item | undefined;
  const names: Record<string, string> = { '#pk': 'pk' };
  for (const [i, a] of (projection ?? []).entries()) names[`#p${i}`] = a;
  do {
    const out = await dynamo.send(
      new QueryCommand({
        TableName: scope.env.table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
        ...(projection ? { ProjectionExpression: projection.map((_, i) => `#p${i}`).join(', ') } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * Writes `requests` with BatchWriteItem, 25 at a time, retrying the items DynamoDB reports as
 * unprocessed (it does so without throwing) with jittered backoff; throws `AwsBatchError` when some
 * remain after {@link BATCH_ATTEMPTS} attempts.
 */
export async function batchWrite(scope: ManagerScope, requests: readonly WriteRequest[]): Promise<void> {
  const { BatchWriteItemCommand } = await sdk.dynamo();
  const { dynamo } = await scope.env.clients();
  for (const part of chunksOf(requests, 25)) {
    let left: WriteRequest[] = part;
    for (let attempt = 1; left.length > 0; attempt++) {
      if (attempt > 1) {
        if (attempt > BATCH_ATTEMPTS) {
          const failures = left.map((r) => ({
            id: (r.PutRequest?.Item ?? r.DeleteRequest?.Key)?.sk?.S ?? '?',
            code: 'Unprocessed',
          }));
          throw new AwsBatchError('DynamoDB.BatchWriteItem', failures, BATCH_ATTEMPTS);
        }
        await backoff(attempt - 2, retryBounds(50));
      }
      const out = await dynamo.send(new BatchWriteItemCommand({ RequestItems: { [scope.env.table]: left } }));
      left = out.UnprocessedItems?.[scope.env.table] ?? [];
    }
  }
}

/** Whether `e` is DynamoDB refusing an item over its 400 KB limit. */
export function isOversized(e: unknown): boolean {
  return e instanceof Error && e.name === 'ValidationException' && /size/i.test(e.message);
}

/** DynamoDB's item limit. */
export const ITEM_LIMIT_BYTES = 400 * 1024;

/** How long a revived proxy waits for its object's initial values to appear before taking the creator for gone. */
export const INIT_WAIT_MS = 30_000;

/**
 * Waits until item `key` exists: a proxy revived from the handle of an object made with initial
 * values, whose creator may still be writing them, waits for that write (the creator's last item)
 * before its first operation, so that no party sees the object without its initial values. Polls
 * with jittered backoff; throws `ClosedError` after {@link INIT_WAIT_MS} (the creator stopped before
 * writing them, or the manager was shut down).
 */
export async function awaitItem(scope: ManagerScope, key: Item): Promise<void> {
  const { GetItemCommand } = await sdk.dynamo();
  const { dynamo } = await scope.env.clients();
  const deadline = deadlineOf(INIT_WAIT_MS);
  for (let attempt = 1; ; attempt++) {
    const out = await dynamo.send(
      new GetItemCommand({
        TableName: scope.env.table,
        Key: key,
        ConsistentRead: true,
        ProjectionExpression: 'sk',
      }),
    );
    if (out.Item) return;
    if (expired(deadline)) {
      throw new ClosedError(
        `The manager's object never received its initial values within ${INIT_WAIT_MS} ms`,
      );
    }
    await backoff(attempt, scope.env.pollMs);
  }
}
