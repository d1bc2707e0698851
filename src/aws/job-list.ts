/**
 * Listing the jobs of a table: a sparse global secondary index over the job items only, keyed by
 * the UTC day a job was created (`listDay`, `YYYY-MM-DD`) and sorted by `createdAt`. Only the job
 * item carries `listDay`, so chunk results, counters and the primitives' items never enter the
 * index; and the index projects its keys only, so a write to the job item that changes neither
 * `listDay` nor `createdAt` (a chunk counted, a status change) writes nothing to the index. The
 * cost is one index write when a job is created and one when its item goes: per job, never per
 * chunk. A day's jobs share one index partition, which takes about 1,000 creations a second.
 *
 * The query is `dynamo-list.ts`'s; this file holds the layout only, with no SDK import, so that
 * the construct and the table's other users read it without loading the SDK.
 */
/** The listing index's name, as the construct and `ensureTable` create it. */
export const LIST_INDEX = 'byTime';
/** The index's partition key: the UTC day of the job's creation. */
export const LIST_DAY = 'listDay';
/** The index's sort key: the job item's own `createdAt` (epoch ms). */
export const LIST_SORT = 'createdAt';

/** The index partition of a job created at `ms` (epoch ms): its UTC day, `YYYY-MM-DD`. */
export function listDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
