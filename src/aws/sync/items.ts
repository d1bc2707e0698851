/**
 * The DynamoDB items of the AWS primitives and what every primitive file shares: one item per
 * primitive in the jobs table, `pk = SYNC#<id>`, `sk = SYNC`, with `expiresAt` (the table's TTL)
 * pushed 30 days ahead on every write, so abandoned primitives disappear on their own. Items are
 * made by the first write (an UpdateItem creates a missing item), so factories need no request.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { PROCESS_IDENT } from '../../api/process-info.js';
import { ProtocolError } from '../../errors.js';
import type { SyncHandle } from '../../handles.js';
import { received } from '../../validate.js';
import { type Expr, N, S, TTL_ATTRIBUTE } from '../dynamo-items.js';
import { type AwsSyncEnv, sdk } from './env.js';

/** Sort key of every primitive's item. */
export const SYNC_SK = 'SYNC';

/** How long an untouched primitive's item lives, in seconds (30 days). */
export const SYNC_TTL_SECONDS = 30 * 24 * 3600;

/** The key of primitive `id`'s item. */
export function syncKey(id: string): { pk: AttributeValue; sk: AttributeValue } {
  return { pk: S(`SYNC#${id}`), sk: S(SYNC_SK) };
}

/** The TTL attribute's name and a fresh value for it. */
export function ttl(): [string, AttributeValue] {
  return [TTL_ATTRIBUTE, N(Math.floor(Date.now() / 1000) + SYNC_TTL_SECONDS)];
}

/** Whether `e` is DynamoDB refusing a conditional write (the only failure mapped to an outcome). */
export function isConditionFailure(e: unknown): e is { Item?: Record<string, AttributeValue> } {
  return e instanceof Error && e.name === 'ConditionalCheckFailedException';
}

/** Whether `e` is a cancelled transaction, with its per-item reasons. */
export function cancellationReasons(
  e: unknown,
): { Code?: string; Item?: Record<string, AttributeValue> }[] | undefined {
  if (!(e instanceof Error) || e.name !== 'TransactionCanceledException') return undefined;
  return (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
}

const parties = new WeakMap<AwsSyncEnv, string>();
let partiesMade = 0;

/**
 * This party's identity as an owner of recursive locks: one per environment object in a thread.
 * A process (or Lambda container) builds one environment, whose identity is exactly
 * {@link PROCESS_IDENT} (what `RLock.state().owner` documents); a second environment in the same
 * thread (a test's second party) gets `PROCESS_IDENT#n`.
 */
export function partyOf(env: AwsSyncEnv): string {
  let party = parties.get(env);
  if (party === undefined) {
    party = partiesMade === 0 ? PROCESS_IDENT : `${PROCESS_IDENT}#${partiesMade}`;
    partiesMade++;
    parties.set(env, party);
  }
  return party;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The data of an AWS handle of `kind`, with its `id` checked (a UUID, as the factories make). */
export function handleData(
  handle: SyncHandle,
  kind: string,
): Readonly<Record<string, unknown>> & { id: string } {
  if (handle.ctx !== 'aws' || handle.kind !== kind)
    throw new ProtocolError(`Expected an aws ${kind} handle, got a ${handle.ctx} ${handle.kind} handle`);
  const data = handle.data;
  if (typeof data !== 'object' || data === null)
    throw new ProtocolError(`${kind} handle: data is not an object`);
  if (typeof data.id !== 'string' || !UUID.test(data.id))
    throw new ProtocolError(`${kind} handle: data.id must be a UUID, got ${received(data.id)}`);
  return data as Readonly<Record<string, unknown>> & { id: string };
}

/** A DynamoDB item as the SDK returns it. */
export type Item = Record<string, AttributeValue>;

/** The fields of one UpdateItem (or a transaction's Update): `SET <ttl>, <sets> <rest>`, with its condition. */
export function updateInput(
  env: AwsSyncEnv,
  key: Item,
  x: Expr,
  sets: readonly string[],
  rest: string,
  condition: string | undefined,
) {
  const [ttlName, ttlValue] = ttl();
  return {
    TableName: env.table,
    Key: key,
    UpdateExpression: `SET ${[`${x.n(ttlName)} = ${x.v('ttl', ttlValue)}`, ...sets].join(', ')} ${rest}`,
    ...(condition === undefined ? {} : { ConditionExpression: condition }),
    ...x.attributes,
  };
}

/**
 * One conditional UpdateItem (see {@link updateInput}), the Powertools way: a refusal returns the
 * item found (`ALL_OLD`, or a consistent read where the emulator leaves it out); a success
 * returns `ALL_NEW`, only the updated attributes with `returns: 'UPDATED_NEW'`, or an empty item
 * with `'NONE'`. Only a refused condition is mapped to an outcome; any other failure rejects. Every
 * AWS primitive writes its item through this (lease.ts and sync-item.ts bind it to one key).
 */
export async function conditionalUpdate(
  env: AwsSyncEnv,
  key: Item,
  x: Expr,
  sets: readonly string[],
  rest: string,
  condition: string | undefined,
  returns: 'ALL_NEW' | 'UPDATED_NEW' | 'NONE' = 'ALL_NEW',
): Promise<{ ok: true; item: Item } | { ok: false; item: Item | undefined }> {
  const { UpdateItemCommand } = await sdk.dynamo();
  const { dynamo } = await env.clients();
  try {
    const out = await dynamo.send(
      new UpdateItemCommand({
        ...updateInput(env, key, x, sets, rest, condition),
        ReturnValues: returns,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { ok: true, item: out.Attributes ?? {} };
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
    return { ok: false, item: e.Item ?? (await getItem(env, key)) };
  }
}

/** A strongly consistent GetItem, of the attributes `projection` names (all by default). */
export async function getItem(
  env: AwsSyncEnv,
  key: Item,
  projection?: { readonly path: string; readonly names?: Record<string, string> },
): Promise<Item | undefined> {
  const { GetItemCommand } = await sdk.dynamo();
  const { dynamo } = await env.clients();
  const only = projection
    ? {
        ProjectionExpression: projection.path,
        ...(projection.names ? { ExpressionAttributeNames: projection.names } : {}),
      }
    : {};
  const out = await dynamo.send(
    new GetItemCommand({ TableName: env.table, Key: key, ConsistentRead: true, ...only }),
  );
  return out.Item;
}
