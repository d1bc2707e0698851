/**
 * Lists the jobs of a table through its listing index (`job-list.ts`): the days from the newest
 * backwards, newest job first, each found job then read with the store's own `getJob`, so that
 * its counts are what `getJob` returns. One query per day looked at (more for a day of more jobs
 * than the limit), one read per job listed.
 */
import { type AttributeValue, type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { JobRecord, ListJobsOptions } from '../ports.js';
import { integer } from '../validate.js';
import { LIST_DAY, LIST_INDEX, LIST_SORT, listDay } from './job-list.js';

const DAY_MS = 86_400_000;
/** Jobs read at once while a listing reads the jobs it found. */
const READS_IN_FLIGHT = 8;

/** What a listing needs of its store. */
export interface ListSource {
  readonly client: DynamoDBClient;
  readonly table: string;
  /** The store's `getJob`. */
  readonly read: (jobId: string) => Promise<JobRecord | undefined>;
  /** The store's clock, epoch ms. */
  readonly now: number;
  /** How far back a listing looks by default: the items' lifetime (older ones are gone by TTL). */
  readonly retentionMs: number;
}

/** The newest jobs of the table, newest first, within `since` and `before`; see the module comment. */
export async function listJobs(src: ListSource, options: ListJobsOptions): Promise<JobRecord[]> {
  const limit = integer(options.limit, 'options.limit', 1, 1000);
  const before = options.before ?? src.now + 1;
  const since = options.since ?? src.now - src.retentionMs;
  const ids: string[] = [];
  // Days from the one of `before` back to the one of `since`, newest first.
  for (let day = dayStart(before - 1); day >= dayStart(since) && ids.length < limit; day -= DAY_MS) {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await src.client.send(
        new QueryCommand({
          TableName: src.table,
          IndexName: LIST_INDEX,
          KeyConditionExpression: '#day = :day AND #at BETWEEN :since AND :last',
          ExpressionAttributeNames: { '#day': LIST_DAY, '#at': LIST_SORT },
          ExpressionAttributeValues: {
            ':day': { S: listDay(day) },
            ':since': { N: String(Math.max(since, day)) },
            ':last': { N: String(Math.min(before - 1, day + DAY_MS - 1)) },
          },
          ScanIndexForward: false,
          Limit: limit - ids.length,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const pk = item.pk?.S;
        if (pk?.startsWith('JOB#')) ids.push(pk.slice('JOB#'.length));
      }
      start = page.LastEvaluatedKey;
    } while (start && ids.length < limit);
  }
  const jobs: (JobRecord | undefined)[] = new Array(ids.length);
  for (let i = 0; i < ids.length; i += READS_IN_FLIGHT) {
    const slice = ids.slice(i, i + READS_IN_FLIGHT);
    const read = await Promise.all(slice.map((id) => src.read(id)));
    read.forEach((job, k) => {
      jobs[i + k] = job;
    });
  }
  // A job deleted between the query and its read is left out.
  return jobs.filter((j): j is JobRecord => j !== undefined);
}

function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}
