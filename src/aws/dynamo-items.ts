/**
 * The layout of fanfold's single DynamoDB table, and the translation between its items and the
 * port's records. A job's own items sit under `JOB#<id>`; its chunk records and counters are spread
 * over S shard partitions `JOB#<id>#<k>` (`job-shards.ts` says which chunk goes where):
 *
 * | item | pk | sk | attributes |
 * |---|---|---|---|
 * | job | `JOB#<id>` | `JOB` | the {@link JobRecord} fields but `done`, `shards`, `doneShards` (number set of the shards known complete), `released`, `listDay` (the key of the listing index, `job-list.ts`), `owner`/`leaseUntil` while FOLDING, `fence`, `run<index>`/`runUntil<index>` per claimed run |
 * | shard k's counter | `JOB#<id>#<k>` | `COUNT` | `done` (chunks recorded in shard k), `ms` and `timed` (summed run times, and of how many chunks), `retries` (their deliveries beyond the first) |
 * | chunk result | `JOB#<id>#<k>` | `CHUNK#0000000042` | `data`, `at` (the {@link ChunkAttempt}, short names: the item stays under 1 KB for 100 numbers) |
 * | chunk error note | `JOB#<id>` | `ERR#0000000042` | `error` (JSON) |
 *
 * Every item carries `expiresAt` (epoch seconds) for the table's TTL: the job's deadline plus the
 * store's retention (an error note: its write plus the retention). Indices are zero-padded so the
 * items of a shard sort by index. A key never collides with another job's: the shard number after
 * the last `#` is numeric, and job-level and shard-level items use different sort keys.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ProtocolError, type SerializedError } from '../errors.js';
import type { ChunkAttempt, Data, JobError, JobKind, JobRecord, JobSpec, JobStatus } from '../ports.js';
import { LIST_DAY, listDay } from './job-list.js';
import { expectedIn, shardOf } from './job-shards.js';

/** The attribute the table's TTL is set on. */
export const TTL_ATTRIBUTE = 'expiresAt';

/** Sort key of the job item. */
export const JOB_SK = 'JOB';

type Item = Record<string, AttributeValue>;
type Key = { pk: AttributeValue; sk: AttributeValue };

/** The partition key of a job's own items (the job, its error notes). */
export function jobPk(jobId: string): string {
  return `JOB#${jobId}`;
}

/** The partition key of shard `k` of a job: its counter and its chunks' records. */
export function shardPk(jobId: string, k: number): string {
  return `JOB#${jobId}#${k}`;
}

function pad(index: number): string {
  return String(index).padStart(10, '0');
}

export function jobKey(jobId: string): Key {
  return { pk: { S: jobPk(jobId) }, sk: { S: JOB_SK } };
}

/** Sort key of a shard's counter. */
export const COUNT_SK = 'COUNT';
/** Sort-key prefix of chunk records. */
export const CHUNK_PREFIX = 'CHUNK#';

export function counterKey(jobId: string, k: number): Key {
  return { pk: { S: shardPk(jobId, k) }, sk: { S: COUNT_SK } };
}

export function chunkKey(jobId: string, index: number, shards: number): Key {
  return { pk: { S: shardPk(jobId, shardOf(index, shards)) }, sk: { S: `${CHUNK_PREFIX}${pad(index)}` } };
}

export function errorKey(jobId: string, index: number): Key {
  return { pk: { S: jobPk(jobId) }, sk: { S: `ERR#${pad(index)}` } };
}

/** The job item's attributes holding the owner and lease end of chunk `index`'s claimed run (`claimRun`). */
export function runAttributes(index: number): { readonly owner: string; readonly until: string } {
  return { owner: `run${index}`, until: `runUntil${index}` };
}

/** The chunk index of a chunk item's sort key. */
export function chunkIndexOf(item: Item): number {
  const sk = item.sk?.S ?? '';
  if (!sk.startsWith(CHUNK_PREFIX))
    throw new ProtocolError(`Not a chunk item: sort key ${JSON.stringify(sk)}`);
  return Number(sk.slice(CHUNK_PREFIX.length));
}

/** The shard number of a counter item's partition key. */
export function counterShardOf(item: Item): number {
  const pk = item.pk?.S ?? '';
  const k = Number(pk.slice(pk.lastIndexOf('#') + 1));
  if (item.sk?.S !== COUNT_SK || !Number.isInteger(k)) throw new ProtocolError(`Not a counter item: ${pk}`);
  return k;
}

/** The TTL (epoch seconds) of a job's items: its deadline plus the retention. */
export function expiryOf(deadline: number, retentionSeconds: number): number {
  return Math.ceil(deadline / 1000) + retentionSeconds;
}

export const S = (s: string): AttributeValue => ({ S: s });
export const N = (n: number): AttributeValue => ({ N: String(n) });

export function encodeData(data: Data): AttributeValue {
  if ('bytes' in data) return { M: { enc: S(data.enc), bytes: { B: data.bytes } } };
  const ref: Record<string, AttributeValue> = { enc: S(data.enc), blob: S(data.blob), size: N(data.size) };
  if (data.offset !== undefined) ref.offset = N(data.offset);
  return { M: ref };
}

/** Milliseconds to the microsecond: exact in a DynamoDB number, and short in the item. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** A chunk attempt as its record's `at` map: one-letter names keep the record small. */
export function encodeAttempt(a: ChunkAttempt): AttributeValue {
  const m: Item = { w: S(a.worker), t: N(a.thread), s: N(a.startedAt), d: N(roundMs(a.ms)), n: N(a.attempt) };
  if (a.backup) m.b = { BOOL: true };
  return { M: m };
}

export function decodeAttempt(v: AttributeValue | undefined): ChunkAttempt | undefined {
  const m = v?.M;
  if (!m) return undefined;
  const n = (k: string) => {
    const x = m[k]?.N;
    return x === undefined ? bad(`attempt.${k} is missing`) : Number(x);
  };
  const worker = m.w?.S ?? bad('attempt.w is missing');
  const attempt = { worker, thread: n('t'), startedAt: n('s'), ms: n('d'), attempt: n('n') };
  return m.b?.BOOL ? { ...attempt, backup: true } : attempt;
}

function bad(what: string): never {
  throw new ProtocolError(`Malformed job table item: ${what}`);
}

export function decodeData(v: AttributeValue | undefined, what: string): Data {
  const m = v?.M;
  if (!m) return bad(`${what} is not a map`);
  const enc = m.enc?.S;
  if (enc !== 'v8' && enc !== 'f64') return bad(`${what}.enc is ${JSON.stringify(enc)}`);
  const bytes = m.bytes?.B;
  if (bytes) return { enc, bytes };
  const blob = m.blob?.S;
  const size = m.size?.N;
  if (blob === undefined || size === undefined) return bad(`${what} has neither bytes nor blob`);
  const offset = m.offset?.N;
  return { enc, blob, size: Number(size), ...(offset === undefined ? {} : { offset: Number(offset) }) };
}

function str(item: Item, name: string): string {
  const v = item[name]?.S;
  if (v === undefined) return bad(`${name} is missing`);
  return v;
}

function num(item: Item, name: string): number {
  const v = item[name]?.N;
  if (v === undefined) return bad(`${name} is missing`);
  return Number(v);
}

function optNum(item: Item, name: string): number | undefined {
  const v = item[name]?.N;
  return v === undefined ? undefined : Number(v);
}

/** The job item written by `createJob`: RUNNING, version 1, its `shards`, the ones with no chunk marked complete. */
export function newJobItem(
  spec: JobSpec,
  layout: {
    readonly now: number;
    readonly expiresAt: number;
    readonly shards: number;
    readonly complete: readonly number[];
  },
): Item {
  const item: Item = {
    ...jobKey(spec.id),
    id: S(spec.id),
    kind: S(spec.kind),
    task: S(spec.task),
    deadline: N(spec.deadline),
    status: S('RUNNING'),
    version: N(1),
    fence: N(0),
    shards: N(layout.shards),
    createdAt: N(layout.now),
    [TTL_ATTRIBUTE]: N(layout.expiresAt),
    [LIST_DAY]: S(listDay(layout.now)),
  };
  if (spec.reducer !== undefined) item.reducer = S(spec.reducer);
  if (spec.initial !== undefined) item.initial = encodeData(spec.initial);
  if (spec.total !== undefined) item.total = N(spec.total);
  // A set is never empty in DynamoDB: absent means no shard complete yet.
  if (layout.complete.length > 0) item.doneShards = { NS: layout.complete.map(String) };
  if (spec.plan !== undefined) item.plan = S(spec.plan);
  return item;
}

/** A shard counter's values (absent counter: zeros). */
export interface ShardCount {
  readonly done: number;
  readonly ms: number;
  readonly timed: number;
  readonly retries: number;
}

export function decodeCounter(item: Item | undefined): ShardCount {
  return {
    done: Number(item?.done?.N ?? 0),
    ms: Number(item?.ms?.N ?? 0),
    timed: Number(item?.timed?.N ?? 0),
    retries: Number(item?.retries?.N ?? 0),
  };
}

/** The shards a job item marks complete. */
export function doneShardsOf(item: Item): Set<number> {
  return new Set((item.doneShards?.NS ?? []).map(Number));
}

/**
 * The record of a job item. With `counters` (every shard's, from one read), `done`, `version` and
 * `meanChunkMs` are exact; without, `done` counts the chunks of the shards the item marks complete
 * (a lower bound) and `version` is the item's plus that.
 */
export function decodeJob(item: Item, counters?: ReadonlyMap<number, ShardCount>): JobRecord {
  const shards = num(item, 'shards');
  const total = optNum(item, 'total');
  let done = 0;
  let ms = 0;
  let timed = 0;
  let retries = 0;
  if (counters) {
    for (const c of counters.values()) {
      done += c.done;
      ms += c.ms;
      timed += c.timed;
      retries += c.retries;
    }
  } else if (total !== undefined) {
    for (const k of doneShardsOf(item)) done += expectedIn(k, total, shards);
  }
  const job: { -readonly [K in keyof JobRecord]: JobRecord[K] } = {
    id: str(item, 'id'),
    kind: str(item, 'kind') as JobKind,
    task: str(item, 'task'),
    deadline: num(item, 'deadline'),
    status: str(item, 'status') as JobStatus,
    done,
    version: num(item, 'version') + done,
    createdAt: num(item, 'createdAt'),
    shards,
  };
  if (timed > 0) job.meanChunkMs = ms / timed;
  if (retries > 0) job.retries = retries;
  const backups = optNum(item, 'backups');
  if (backups !== undefined && backups > 0) job.backups = backups;
  if (item.reducer?.S !== undefined) job.reducer = item.reducer.S;
  if (item.initial) job.initial = decodeData(item.initial, 'initial');
  if (total !== undefined) job.total = total;
  if (item.error?.S !== undefined) job.error = JSON.parse(item.error.S) as JobError;
  if (item.result) job.result = decodeData(item.result, 'result');
  const endedAt = optNum(item, 'endedAt');
  if (endedAt !== undefined) job.endedAt = endedAt;
  if (item.released?.BOOL) job.released = true;
  if (item.plan?.S !== undefined) job.plan = item.plan.S;
  const owner = item.owner?.S;
  if (owner !== undefined)
    job.finaliser = { owner, leaseUntil: num(item, 'leaseUntil'), fence: num(item, 'fence') };
  return job;
}

/** The error noted on an error item. */
export function decodeNote(item: Item): SerializedError {
  return JSON.parse(str(item, 'error')) as SerializedError;
}

/**
 * Collects `#name` and `:value` placeholders while an expression is written from named pieces,
 * so no attribute name ever collides with a reserved word.
 */
export class Expr {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};

  /** The placeholder of attribute `attr`. */
  n(attr: string): string {
    const key = `#${attr}`;
    this.names[key] = attr;
    return key;
  }

  /** The placeholder of a value, under a name unique in this expression. */
  v(name: string, value: AttributeValue): string {
    const key = `:${name}`;
    this.values[key] = value;
    return key;
  }

  /** The request fields, leaving out empty maps (DynamoDB rejects them). */
  get attributes(): {
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, AttributeValue>;
  } {
    return {
      ...(Object.keys(this.names).length > 0 ? { ExpressionAttributeNames: this.names } : {}),
      ...(Object.keys(this.values).length > 0 ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}
