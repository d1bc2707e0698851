/**
 * The bench's counting proxy (`bench/scale/proxy.ts`) in front of moto: every request is counted
 * by party, service and operation, and DynamoDB requests are costed in write and read units by the
 * sizes of the items they touched, as DynamoDB documents (a refused write charged on the item as it
 * was, a transaction twice). The clients here talk to the proxy; the proxy forwards to moto.
 */
import { randomUUID } from 'node:crypto';
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingProxy, type Tally } from '../../bench/scale/proxy.js';
import { setupAws } from '../../src/aws/setup.js';
import { useCloudTier } from '../support/cloud.js';

const cloud = await useCloudTier();
const name = `proxy-${randomUUID().slice(0, 8)}`;
let proxy: CountingProxy;
let dynamo: DynamoDBClient;
let other: DynamoDBClient;
let sqs: SQSClient;
let s3: S3Client;
let queueUrl: string;

beforeAll(async () => {
  const r = await setupAws({
    clients: cloud.clients,
    tableName: name,
    bucket: name,
    queue: { name, visibilityTimeoutSeconds: 30, maxReceiveCount: 3 },
  });
  queueUrl = r.queueUrl;
  proxy = await CountingProxy.start({
    emulator: cloud.emulators.endpoint,
    parties: ['one', 'two'],
    clientOptions: cloud.clientOptions,
  });
  const at = (party: string) => ({ ...cloud.clientOptions, endpoint: proxy.endpoint(party) });
  dynamo = new DynamoDBClient(at('one'));
  other = new DynamoDBClient(at('two'));
  sqs = new SQSClient({ ...at('one'), useQueueUrlAsEndpoint: false });
  s3 = new S3Client({ ...at('two'), forcePathStyle: true });
});
afterAll(async () => {
  for (const c of [dynamo, other, sqs, s3]) c?.destroy();
  await proxy?.close();
});

const key = (id: string) => ({ pk: { S: `T#${id}` }, sk: { S: 'ITEM' } });
const tally = (party: string, operation: string): Tally | undefined =>
  proxy.tallies().find((t) => t.party === party && t.operation === operation);

describe('CountingProxy', () => {
  it('charges a write by the larger of the item before and after, per KB, and twice in a transaction', async () => {
    proxy.reset();
    const id = randomUUID();
    // 1,500 bytes of payload: 2 KB-units with its names and keys.
    await dynamo.send(
      new PutItemCommand({ TableName: name, Item: { ...key(id), data: { S: 'x'.repeat(1_500) } } }),
    );
    expect(tally('one', 'PutItem')).toMatchObject({ requests: 1, wru: 2 });
    // Shrinking it is charged on the item before (2 KB).
    await dynamo.send(
      new UpdateItemCommand({
        TableName: name,
        Key: key(id),
        UpdateExpression: 'SET #d = :d',
        ExpressionAttributeNames: { '#d': 'data' },
        ExpressionAttributeValues: { ':d': { S: 'small' } },
      }),
    );
    expect(tally('one', 'UpdateItem')).toMatchObject({ requests: 1, wru: 2 });
    // A transaction: a new small item (1 unit) and an update of a small one (1), each doubled.
    await dynamo.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: name, Item: { ...key(randomUUID()), n: { N: '1' } } } },
          {
            Update: {
              TableName: name,
              Key: key(id),
              UpdateExpression: 'ADD #n :one',
              ExpressionAttributeNames: { '#n': 'n' },
              ExpressionAttributeValues: { ':one': { N: '1' } },
            },
          },
        ],
      }),
    );
    expect(tally('one', 'TransactWriteItems')).toMatchObject({ requests: 1, wru: 4 });
    expect(proxy.partitions().get(`T#${id}`)).toBe(2 + 2 + 2);
    expect(proxy.itemKinds().get('ITEM')).toBe(2 + 2 + 4);
  });

  it('charges a write refused by its condition on the item as it was', async () => {
    proxy.reset();
    const id = randomUUID();
    await dynamo.send(
      new PutItemCommand({ TableName: name, Item: { ...key(id), data: { S: 'y'.repeat(3_000) } } }),
    );
    await expect(
      dynamo.send(
        new PutItemCommand({
          TableName: name,
          Item: { ...key(id), data: { S: 'z' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect(tally('one', 'PutItem')).toMatchObject({ requests: 2, wru: 3 + 3 });
  });

  it('charges reads per 4 KB read, half when eventually consistent, the least for a key not found', async () => {
    proxy.reset();
    const id = randomUUID();
    await dynamo.send(
      new PutItemCommand({ TableName: name, Item: { ...key(id), data: { S: 'r'.repeat(5_000) } } }),
    );
    await dynamo.send(new GetItemCommand({ TableName: name, Key: key(id), ConsistentRead: true }));
    await dynamo.send(new GetItemCommand({ TableName: name, Key: key(id) }));
    expect(tally('one', 'GetItem')).toMatchObject({ requests: 2, rru: 2 + 1 });
    // Projected: still charged on the whole item.
    await other.send(
      new BatchGetItemCommand({
        RequestItems: {
          [name]: { Keys: [key(id), key(randomUUID())], ConsistentRead: true, ProjectionExpression: 'pk' },
        },
      }),
    );
    expect(tally('two', 'BatchGetItem')).toMatchObject({ requests: 1, rru: 2 + 1 });
  });

  it('tells SQS receives with messages from empty ones, and names S3 operations', async () => {
    proxy.reset();
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hello' }));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
    await s3.send(new PutObjectCommand({ Bucket: name, Key: 'a/b', Body: 'x' }));
    expect(tally('one', 'ReceiveMessage (empty)')?.requests).toBe(1);
    expect(tally('one', 'ReceiveMessage')?.requests).toBe(1);
    expect(tally('one', 'SendMessage')?.requests).toBe(1);
    expect(tally('two', 'PutObject')).toMatchObject({ service: 'S3', requests: 1 });
  });
});
