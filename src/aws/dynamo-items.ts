/**
 * The layout of fanfold's single DynamoDB table, and the translation between its items and the
 * port's records. One partition per job:
 *
 * | item | pk | sk | attributes |
 * |---|---|---|---|
 * | job | `JOB#<id>` | `JOB` | the {@link JobRecord} fields, `owner`/`leaseUntil` while FOLDING, `fence`, `run<index>`/`runUntil<index>` per claimed run, `listDay` (the key of the listing index, `job-list.ts`) |
 * | chunk result | `JOB#<id>` | `CHUNK#0000000042` | `data` |
 * | chunk error note | `JOB#<id>` | `ERR#0000000042` | `error` (JSON) |
 *
 * Every item carries `expiresAt` (epoch seconds) for the table's TTL. Indices are zero-padded so
 * the items of a job sort by index.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ProtocolError, type SerializedError } from '../errors.js';
import type { Data, JobError, JobKind, JobRecord, JobSpec, JobStatus } from '../ports.js';
import { LIST_DAY, listDay } from './job-list.js';

/** The attribute the table's TTL is set on. */
export const TTL_ATTRIBUTE = 'expiresAt';

/** Sort key of the job item. */
export const JOB_SK = 'JOB';

type Item = Record<string, AttributeValue>;
type Key = { pk: AttributeValue; sk: AttributeValue };

/** The partition key of every item of a job. */
export function jobPk(jobId: string): string {
  return `JOB#${jobId}`;
}

function pad(index: number): string {
  return String(index).padStart(10, '0');
}

export function jobKey(jobId: string): Key {
  return { pk: { S: jobPk(jobId) }, sk: { S: JOB_SK } };
}

export function chunkKey(jobId: string, index: number): Key {
  return { pk: { S: jobPk(jobId) }, sk: { S: `CHUNK#${pad(index)}` } };
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
  if (!sk.startsWith('CHUNK#')) throw new ProtocolError(`Not a chunk item: sort key ${JSON.stringify(sk)}`);
  return Number(sk.slice('CHUNK#'.length));
}

export const S = (s: string): AttributeValue => ({ S: s });
export const N = (n: number): AttributeValue => ({ N: String(n) });

export function encodeData(data: Data): AttributeValue {
  if ('bytes' in data) return { M: { enc: S(data.enc), bytes: { B: data.bytes } } };
  const ref: Record<string, AttributeValue> = { enc: S(data.enc), blob: S(data.blob), size: N(data.size) };
  if (data.offset !== undefined) ref.offset = N(data.offset);
  return { M: ref };
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

/** The job item written by `createJob`: RUNNING, nothing done, version 1. */
export function newJobItem(spec: JobSpec, now: number, expiresAt: number): Item {
  const item: Item = {
    ...jobKey(spec.id),
    id: S(spec.id),
    kind: S(spec.kind),
    task: S(spec.task),
    deadline: N(spec.deadline),
    status: S('RUNNING'),
    done: N(0),
    version: N(1),
    fence: N(0),
    createdAt: N(now),
    [LIST_DAY]: S(listDay(now)),
    [TTL_ATTRIBUTE]: N(expiresAt),
  };
  if (spec.reducer !== undefined) item.reducer = S(spec.reducer);
  if (spec.initial !== undefined) item.initial = encodeData(spec.initial);
  if (spec.total !== undefined) item.total = N(spec.total);
  if (spec.plan !== undefined) item.plan = S(spec.plan);
  return item;
}

/** The record of a job item. */
export function decodeJob(item: Item): JobRecord {
  const job: { -readonly [K in keyof JobRecord]: JobRecord[K] } = {
    id: str(item, 'id'),
    kind: str(item, 'kind') as JobKind,
    task: str(item, 'task'),
    deadline: num(item, 'deadline'),
    status: str(item, 'status') as JobStatus,
    done: num(item, 'done'),
    version: num(item, 'version'),
    createdAt: num(item, 'createdAt'),
  };
  if (item.reducer?.S !== undefined) job.reducer = item.reducer.S;
  if (item.initial) job.initial = decodeData(item.initial, 'initial');
  const total = optNum(item, 'total');
  if (total !== undefined) job.total = total;
  if (item.error?.S !== undefined) job.error = JSON.parse(item.error.S) as JobError;
  if (item.result) job.result = decodeData(item.result, 'result');
  const endedAt = optNum(item, 'endedAt');
  if (endedAt !== undefined) job.endedAt = endedAt;
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
