/**
 * One entry of an AWS dict (see manager-items.ts): where its value sits in the item, its insertion
 * stamp, the check of its key, its write, and `increment`, the one dict operation that is more than
 * a single request in a corner case.
 *
 * Insertion order, as CPython's dicts keep it: each entry holds `t`, a stamp set when the key is
 * inserted and kept when it is set again (`if_not_exists`); the whole-dict reads sort by it and
 * `popitem` takes the greatest. A stamp is the writer's clock in µs, strictly increasing within a
 * party: exact for one party, and across parties as exact as their clocks agree.
 */
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { checkKey } from '../../api/manager-args.js';
import { backoff } from '../../backoff.js';
import { InvalidArgumentError } from '../../errors.js';
import { received } from '../../validate.js';
import { Expr } from '../dynamo-items.js';
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
import { recordParts, recordsOf } from './write-records.js';

/** The SDK module, the client and the table. */
export async function client(scope: ManagerScope): Promise<{
  m: typeof import('@aws-sdk/client-dynamodb');
  dynamo: DynamoDBClient;
  table: string;
}> {
  const [m, { dynamo }] = await Promise.all([sdk.dynamo(), scope.env.clients()]);
  return { m, dynamo, table: scope.env.table };
}

/** The last stamp this party gave (stamps are strictly increasing in a party). */
let lastStamp = 0;

/** A fresh insertion stamp: the clock in µs, above every stamp this party gave before. */
export function stamp(): AttributeValue {
  lastStamp = Math.max(Date.now() * 1000, lastStamp + 1);
  return { N: String(lastStamp) };
}

/** Entry items in insertion order (an entry without a stamp, written before stamps, first). */
export function byInsertion(items: readonly Item[]): Item[] {
  const t = (i: Item) => Number(i.t?.N ?? 0);
  return [...items].sort((x, y) => t(x) - t(y));
}

/**
 * Writes entry `key`'s value `a`, keeping its stamp if the key was there (one UpdateItem that also
 * removes the value's other two attributes); resolves the old item.
 */
export async function writeEntry(
  scope: ManagerScope,
  key: Item,
  a: AttributeValue,
): Promise<Item | undefined> {
  const {
    m: { UpdateItemCommand },
    dynamo,
    table,
  } = await client(scope);
  const [ttlName, ttlValue] = Object.entries(ttlAttribute())[0] as [string, AttributeValue];
  const name = valueName(a);
  const [o1, o2] = VALUE_NAMES.filter((n) => n !== name);
  const out = await dynamo.send(
    new UpdateItemCommand({
      TableName: table,
      Key: key,
      UpdateExpression: 'SET #v = :v, #t = if_not_exists(#t, :t), #ttl = :ttl REMOVE #o1, #o2',
      ExpressionAttributeNames: { '#v': name, '#t': 't', '#ttl': ttlName, '#o1': o1!, '#o2': o2! },
      ExpressionAttributeValues: { ':v': a, ':t': stamp(), ':ttl': ttlValue },
      ReturnValues: 'ALL_OLD',
    }),
  );
  return out.Attributes && Object.keys(out.Attributes).length > 0 ? out.Attributes : undefined;
}

/** The three attributes a value may sit in. */
const VALUE_NAMES = ['n', 'b', 'r'] as const;

/** The attribute a stored value sits in. */
function valueName(a: AttributeValue): (typeof VALUE_NAMES)[number] {
  return a.N !== undefined ? 'n' : a.B !== undefined ? 'b' : 'r';
}

/** The attribute holding an entry's value: `n` (a number), `b` (v8 bytes) or `r` (a bucket key). */
export function entryValue(item: Item): AttributeValue | undefined {
  if (item.n) return item.n;
  if (item.b) return item.b;
  return item.r;
}

/** The item attributes of a stored value: `n`, `b` or `r`. */
export function valueAttrs(a: AttributeValue): Item {
  return { [valueName(a)]: a };
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
  // Each attempt sets a record of its sum, so that the SDK's retry of an applied write is refused
  // and finds it instead of adding again (write-records.ts).
  const records = recordsOf(scope.env, `${key.pk?.S}|${key.sk?.S}`);
  const w = records.begin();
  const x = new Expr();
  const r = recordParts(w, x);
  try {
    const out = await dynamo.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: `SET #ttl = :ttl, #t = if_not_exists(#t, :t), ${r.name} = if_not_exists(#n, :zero) + :d ADD #n :d ${r.remove}`,
        ConditionExpression: `attribute_not_exists(#b) AND attribute_not_exists(#r) AND ${r.absent}`,
        ExpressionAttributeNames: { '#ttl': ttlName, '#n': 'n', '#b': 'b', '#r': 'r', '#t': 't', ...x.names },
        ExpressionAttributeValues: {
          ':ttl': ttlValue,
          ':d': { N: String(delta) },
          ':t': stamp(),
          ':zero': { N: '0' },
        },
        ReturnValues: w.wantsItem ? 'ALL_NEW' : 'UPDATED_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    records.end(w, true, w.wantsItem ? out.Attributes : undefined);
    return Number(out.Attributes?.n?.N);
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
    const done = e.Item?.[w.name]?.N;
    if (done !== undefined) {
      records.end(w, true, e.Item);
      return Number(done);
    }
  }
  for (let attempt = 1; ; attempt++) {
    const { Item: item } = await dynamo.send(
      new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }),
    );
    // This increment's record: an earlier attempt of it was applied (its answer lost).
    const done = item?.[w.name]?.N;
    if (done !== undefined) {
      records.end(w, true);
      return Number(done);
    }
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
    const attr = a && valueName(a);
    try {
      await dynamo.send(
        new PutItemCommand({
          TableName: table,
          Item: { ...key, ...value, ...ttlAttribute(), t: item?.t ?? stamp(), [w.name]: { N: String(next) } },
          ...(a && attr
            ? {
                ConditionExpression: '#v = :old',
                ExpressionAttributeNames: { '#v': attr },
                ExpressionAttributeValues: { ':old': a },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
      records.end(w, true);
      return next;
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      await backoff(attempt, scope.env.pollMs);
    }
  }
}
