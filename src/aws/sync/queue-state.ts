/**
 * The DynamoDB item of a queue (or pipe), key `SYNC#<id>` / `SYNC`: the registry the sweeper reads,
 * the counters and a pipe's end-closed flags (docs/primitives.md, section 3.7); and the waiting
 * helpers the queues share: a deadline, and a backoff sleep with full jitter.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ClosedError } from '../../errors.js';
import { type AwsSyncEnv, sdk } from './env.js';

type Item = Record<string, AttributeValue>;

/** How long a registry item outlives its last heartbeat before the table's TTL may remove it. */
export const ITEM_TTL_S = 24 * 3600;
/** How often a creator renews `lastSeen` (the sweeper's default threshold is 2 h). */
export const HEARTBEAT_MS = 10 * 60_000;

/** The key of the item of queue or pipe `id`. */
export function syncKey(id: string): Item {
  return { pk: { S: `SYNC#${id}` }, sk: { S: 'SYNC' } };
}

const nowS = (): number => Math.floor(Date.now() / 1000);

function conditionFailed(e: unknown): e is { Item?: Item } {
  return (e as { name?: string }).name === 'ConditionalCheckFailedException';
}

/** The parts of an UpdateItem expression (`expiresAt` is always set). */
export interface Update {
  readonly set?: readonly string[];
  readonly add?: string;
  readonly remove?: string;
  /** Placeholders of attribute names besides `#c` (`count`). */
  readonly names?: Readonly<Record<string, string>>;
}

/** `#c` stands for `count`, a DynamoDB reserved word. */
const NAMES: Record<string, string> = { '#c': 'count' };

/**
 * An UpdateItem on the item of `id`. With `condition`, resolves the new item, or `undefined` with
 * `old` (the item as found) when the condition failed; every other error is rethrown.
 */
export async function update(
  env: AwsSyncEnv,
  id: string,
  parts: Update,
  values: Record<string, AttributeValue>,
  condition?: string,
): Promise<{ item: Item | undefined; old: Item | undefined }> {
  const { UpdateItemCommand } = await sdk.dynamo();
  const { dynamo } = await env.clients();
  const expression = [
    `SET ${[...(parts.set ?? []), 'expiresAt = :exp'].join(', ')}`,
    parts.add ? `ADD ${parts.add}` : '',
    parts.remove ? `REMOVE ${parts.remove}` : '',
  ].join(' ');
  const used = `${expression} ${condition ?? ''}`;
  const names = {
    ...Object.fromEntries(Object.entries(NAMES).filter(([k]) => used.includes(k))),
    ...parts.names,
  };
  try {
    const out = await dynamo.send(
      new UpdateItemCommand({
        TableName: env.table,
        Key: syncKey(id),
        UpdateExpression: expression,
        ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: { ...values, ':exp': { N: String(nowS() + ITEM_TTL_S) } },
        ...(condition
          ? { ConditionExpression: condition, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const }
          : {}),
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { item: out.Attributes, old: undefined };
  } catch (e) {
    if (condition && conditionFailed(e)) return { item: undefined, old: e.Item };
    throw e;
  }
}

/** The item of `id`, read strongly consistently (undefined if there is none). */
export async function read(env: AwsSyncEnv, id: string): Promise<Item | undefined> {
  const { GetItemCommand } = await sdk.dynamo();
  const { dynamo } = await env.clients();
  const out = await dynamo.send(
    new GetItemCommand({ TableName: env.table, Key: syncKey(id), ConsistentRead: true }),
  );
  return out.Item;
}

/** A number attribute of `item` (0 when absent). */
export function num(item: Item | undefined, name: string): number {
  return Number(item?.[name]?.N ?? 0);
}

/**
 * Registers the queue (or pipe) `id` before its SQS queue is made: refused with
 * {@link ClosedError} once it was closed, so no party re-creates a deleted queue. The creator
 * (`heartbeat`) also sets `lastSeen`.
 */
export async function register(env: AwsSyncEnv, id: string, what: string, heartbeat: boolean): Promise<void> {
  const now = { N: String(Date.now()) };
  const { item } = await update(
    env,
    id,
    {
      set: heartbeat
        ? ['createdAt = if_not_exists(createdAt, :now)', 'lastSeen = :now']
        : ['createdAt = if_not_exists(createdAt, :now)'],
    },
    { ':now': now },
    'attribute_not_exists(closedAt)',
  );
  // The only condition is the tombstone's absence: a refusal means closed.
  if (!item) throw closed(what);
}

/** Renews the creator's `lastSeen` (ignored once closed). */
export async function renew(env: AwsSyncEnv, id: string): Promise<void> {
  await update(
    env,
    id,
    { set: ['lastSeen = :now'] },
    { ':now': { N: String(Date.now()) } },
    'attribute_not_exists(closedAt)',
  );
}

/** Marks `id` closed for good: the counters go, the tombstone stays until the TTL takes it. */
export async function tombstone(env: AwsSyncEnv, id: string): Promise<void> {
  await update(
    env,
    id,
    { set: ['closedAt = :now'], remove: '#c, unfinished' },
    { ':now': { N: String(Date.now()) } },
  );
}

/** The error for an operation on a closed queue. */
export function closed(what: string): ClosedError {
  return new ClosedError(`${what} is closed`);
}

/**
 * Starts renewing `lastSeen` of `id` every {@link HEARTBEAT_MS} (an unref'd timer: it never keeps
 * the process alive); returns the function that stops it. A failed renewal is retried at the next
 * tick: one missed beat is far inside the sweeper's threshold.
 */
export function startHeartbeat(env: AwsSyncEnv, id: string): () => void {
  const timer = setInterval(() => {
    renew(env, id).catch(() => {});
  }, HEARTBEAT_MS);
  timer.unref();
  return () => clearInterval(timer);
}
