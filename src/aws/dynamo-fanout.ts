/**
 * The {@link FanoutLedger} port on the job table: one item per fan-out leaf, `pk = JOB#<id>`,
 * `sk = FAN#<from, zero-padded>`, holding `next` (the first chunk index not yet sent) and the
 * table's TTL attribute. A leaf writes it once per group of chunks (about 1,000): one write unit
 * per thousand chunks, on the job's partition but never on its hot items.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ProtocolError } from '../errors.js';
import type { FanoutLedger } from '../ports.js';
import { integer, nonEmptyString } from '../validate.js';
import { Expr, jobPk, N, S, TTL_ATTRIBUTE } from './dynamo-items.js';

/** Options of {@link DynamoFanoutLedger}. */
export interface DynamoFanoutLedgerOptions {
  /** The DynamoDB client; make one with `createDynamoClient`. */
  readonly client: DynamoDBClient;
  /** The job table. */
  readonly tableName: string;
  /** Lifetime of an item after its last write, for the table's TTL, in seconds. @default 604_800 (7 days) */
  readonly ttlSeconds?: number;
  /** The time source, in epoch ms. @default Date.now */
  readonly clock?: () => number;
}

/** The key of the leaf of `jobId` whose range starts at `from`. */
export function fanoutKey(jobId: string, from: number) {
  return { pk: S(jobPk(jobId)), sk: S(`FAN#${String(from).padStart(13, '0')}`) };
}

/**
 * Fan-out progress on DynamoDB: `progress` is one consistent GetItem, `advance` one conditional
 * UpdateItem (`SET next = :n` if the item has none or a smaller one), so that progress never moves
 * back when a duplicated leaf writes late.
 *
 * @example
 * ```ts
 * const ledger = new DynamoFanoutLedger({ client: createDynamoClient(), tableName: 'fanfold' });
 * await ledger.advance(jobId, 0, 1000);
 * ```
 */
export class DynamoFanoutLedger implements FanoutLedger {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #clock: () => number;

  constructor(options: DynamoFanoutLedgerOptions) {
    this.#client = options.client;
    this.#table = nonEmptyString(options.tableName, 'options.tableName', 3);
    this.#ttlSeconds = integer(options.ttlSeconds ?? 7 * 24 * 3600, 'options.ttlSeconds', 1);
    this.#clock = options.clock ?? Date.now;
  }

  /** {@inheritDoc FanoutLedger.progress} */
  async progress(jobId: string, from: number): Promise<number | undefined> {
    nonEmptyString(jobId, 'jobId');
    integer(from, 'from', 0);
    const out = await this.#client.send(
      new GetItemCommand({ TableName: this.#table, Key: fanoutKey(jobId, from), ConsistentRead: true }),
    );
    const next = out.Item?.next?.N;
    if (next === undefined) return undefined;
    const n = Number(next);
    if (!Number.isSafeInteger(n) || n < from)
      throw new ProtocolError(
        `Malformed job table item: fan-out progress ${next} of job ${jobId} from ${from}`,
      );
    return n;
  }

  /** {@inheritDoc FanoutLedger.advance} */
  async advance(jobId: string, from: number, next: number): Promise<void> {
    nonEmptyString(jobId, 'jobId');
    integer(from, 'from', 0);
    integer(next, 'next', from);
    const x = new Expr();
    const expiresAt = Math.floor(this.#clock() / 1000) + this.#ttlSeconds;
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: fanoutKey(jobId, from),
          UpdateExpression: `SET ${x.n('next')} = ${x.v('next', N(next))}, ${x.n(TTL_ATTRIBUTE)} = ${x.v('ttl', N(expiresAt))}`,
          ConditionExpression: `attribute_not_exists(${x.n('next')}) OR ${x.n('next')} < :next`,
          ...x.attributes,
        }),
      );
    } catch (e) {
      // Another delivery of the leaf recorded as much or more: progress never moves back.
      if (
        e instanceof ConditionalCheckFailedException ||
        (e as { name?: string }).name === 'ConditionalCheckFailedException'
      )
        return;
      throw e;
    }
  }
}
