/**
 * Helpers of the runner's own tests: the fixture assembly's path, waiting for an outcome in the
 * emulators, and reading what the fixture functions recorded.
 */

import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';

/** The fixture cloud assembly: a CDK-shaped template and four tiny bundles. */
export const FIXTURE_ASSEMBLY = fileURLToPath(new URL('./fixtures/assembly/', import.meta.url));

/**
 * Calls `probe` every 50 ms until it returns something other than undefined, and returns that.
 * For outcomes that happen in another process (a message deleted, an object written).
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An object's text, or undefined while it does not exist. */
export async function readObject(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await out.Body?.transformToString();
  } catch (e) {
    if (e instanceof NoSuchKey) return undefined;
    throw e;
  }
}

/** An SQS event record as the consumer fixture saw it. */
export interface TracedRecord {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly [key: string]: unknown;
}

/** One invocation of the consumer fixture, for one test's records. */
export interface Trace {
  readonly start: number;
  readonly end: number;
  readonly pid: number;
  readonly function: string;
  /** Records of the whole batch, including other tests'. */
  readonly batchSize: number;
  /** Records of this test. */
  readonly records: readonly TracedRecord[];
}

/** Every invocation of the consumer fixture that carried records of `test`, in start order. */
export async function readTraces(s3: S3Client, bucket: string, test: string): Promise<Trace[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `trace/${test}/` }));
  const traces = await Promise.all(
    (listed.Contents ?? []).map(
      async (o) => JSON.parse((await readObject(s3, bucket, o.Key!)) ?? 'null') as Trace,
    ),
  );
  return traces.sort((a, b) => a.start - b.start);
}
