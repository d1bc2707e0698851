/**
 * One entry of an AWS dict (see manager-items.ts): where its value sits in the item, the check of
 * its key, and `increment`, the one dict operation that is more than a single request in a corner
 * case.
 */
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { checkKey } from '../../api/manager-args.js';
import { backoff } from '../../backoff.js';
import { InvalidArgumentError } from '../../errors.js';
import { received } from '../../validate.js';
import { sdk } from './env.js';
import { isConditionFailure } from './items.js';
import {
  DICT_INLINE_BYTES,
  type Item,
  loaded,
  type ManagerScope,
  serialised,
  stored,
  ttlAttribute,
} from './manager-items.js';

/** The SDK module, the client and the table. */
export async function client(scope: ManagerScope): Promise<{
  m: typeof import('@aws-sdk/client-dynamodb');
  dynamo: DynamoDBClient;
  table: string;
}> {
  const [m, { dynamo }] = await Promise.all([sdk.dynamo(), scope.env.clients()]);
  return { m, dynamo, table: scope.env.table };
}

/** The attribute holding an entry's value: `n` (a number), `b` (v8 bytes) or `r` (a bucket key). */
export function entryValue(item: Item): AttributeValue | undefined {
  if (item.n) return item.n;
  if (item.b) return item.b;
  return item.r;
}

/** The item attributes of a stored value: `n`, `b` or `r`. */
export function valueAttrs(a: AttributeValue): Item {
  if (a.N !== undefined) return { n: a };
  if (a.B !== undefined) return { b: a };
  return { r: a };
}

/** A key as a sort key (DynamoDB allows 1024 bytes). */
export function checkDictKey(key: unknown): string {
  const k = checkKey(key);
  if (Buffer.byteLength(k) > 1022) {
    throw new InvalidArgumentError(
      `Expected key to be at most 1022 bytes in UTF-8, got ${Buffer.byteLength(k)} bytes`,
    );
  }
  return k;
}

/**
 * Adds `delta` to entry `key` (named `name`) and resolves the new value. Normally one UpdateItem ADD
 * on the number attribute: atomic, and a missing key counts as 0. Its condition refuses a value
 * stored serialised, which ADD would otherwise sit beside: a number DynamoDB cannot hold (NaN,
 * ±Infinity, -0, 1e21…) is then read and written back conditioned on what was read, until no other
 * write came between; any other value is refused with `InvalidArgumentError`.
 */
export async function incrementEntry(
  scope: ManagerScope,
  key: Item,
  name: string,
  delta: number,
): Promise<number> {
  const {
    m: { UpdateItemCommand, GetItemCommand, PutItemCommand },
    dynamo,
    table,
  } = await client(scope);
  const [ttlName, ttlValue] = Object.entries(ttlAttribute())[0] as [string, AttributeValue];
  try {
    const out = await dynamo.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: 'SET #ttl = :ttl ADD #n :d',
        ConditionExpression: 'attribute_not_exists(#b) AND attribute_not_exists(#r)',
        ExpressionAttributeNames: { '#ttl': ttlName, '#n': 'n', '#b': 'b', '#r': 'r' },
        ExpressionAttributeValues: { ':ttl': ttlValue, ':d': { N: String(delta) } },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.n?.N);
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
  }
  for (let attempt = 1; ; attempt++) {
    const { Item: item } = await dynamo.send(
      new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }),
    );
    const a = item && entryValue(item);
    const old = a ? await loaded(scope, a) : 0;
    if (typeof old !== 'number') {
      throw new InvalidArgumentError(
        `Cannot increment key ${JSON.stringify(name)}: it holds ${received(old)}`,
      );
    }
    const next = old + delta;
    const value = valueAttrs(
      await stored(scope, serialised(next, 'The incremented value', true), DICT_INLINE_BYTES),
    );
    const attr = !a ? undefined : a.N !== undefined ? 'n' : a.B !== undefined ? 'b' : 'r';
    try {
      await dynamo.send(
        new PutItemCommand({
          TableName: table,
          Item: { ...key, ...value, ...ttlAttribute() },
          ...(a && attr
            ? {
                ConditionExpression: '#v = :old',
                ExpressionAttributeNames: { '#v': attr },
                ExpressionAttributeValues: { ':old': a },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
      return next;
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      await backoff(attempt, scope.env.pollMs);
    }
  }
}
