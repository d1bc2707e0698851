/**
 * Where the engine puts payloads too large to travel inline, in the blob store. Every key of a job
 * lies under `jobs/<jobId>/`, so that releasing the job deletes them all with one prefix; the
 * coordinator refuses a request whose blob reference lies outside its job's prefix.
 */

/** Keys under which the engine spills large payloads to the blob store. */
export const blobKeys = {
  /** The prefix of every key of the job. */
  job: (jobId: string) => `jobs/${jobId}/`,
  /** The items of chunk `index` (the coordinator spills them; a caller may put them first). */
  input: (jobId: string, index: number) => `jobs/${jobId}/in/${index}`,
  /** The result of chunk `index`, recorded by the host. */
  output: (jobId: string, index: number) => `jobs/${jobId}/out/${index}`,
  /** The folded result of a mapReduce job. */
  result: (jobId: string) => `jobs/${jobId}/result`,
  /** The reducer's initial value of a mapReduce job. */
  initial: (jobId: string) => `jobs/${jobId}/initial`,
  /**
   * A submitted job's whole input as segments (`segments.ts`): put by a caller whose request would
   * be too large inline, or by the coordinator for inline items of more chunks than it sends itself.
   * `tag` (a digest of the content) keeps a second submit under the same job id from overwriting
   * the first one's input before the coordinator refuses it.
   */
  submitted: (jobId: string, tag: string) => `jobs/${jobId}/input-${tag}`,
};
