/** The {@link BlobStore} port on Amazon S3: large payloads, one object per key. */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { backoff } from '../backoff.js';
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import type { BlobStore, ByteRange } from '../ports.js';
import { byteRange, integer } from '../validate.js';
import { retryBounds } from './batching.js';
import { AwsBatchError, type BatchFailure } from './errors.js';

/** Options of {@link S3BlobStore}. */
export interface S3BlobStoreOptions {
  /** The S3 client; make one with `createS3Client`. */
  readonly client: S3Client;
  readonly bucket: string;
  /** Prepended to every key, e.g. `fanfold/`. @default '' */
  readonly prefix?: string;
  /** Attempts of the keys a DeleteObjects call reports as errors, the first included. @default 5 */
  readonly deleteAttempts?: number;
  /** Base of the jittered exponential backoff between those attempts, in ms. @default 50 */
  readonly retryBaseMs?: number;
}

/** Keys per DeleteObjects call (S3's limit, and ListObjectsV2's page size). */
const DELETE_BATCH = 1000;

/**
 * A blob store on S3.
 *
 * @example
 * ```ts
 * const blobs = new S3BlobStore({ client: createS3Client(), bucket: 'my-fanfold', prefix: 'blobs/' });
 * await blobs.put(`${jobId}/chunk-3`, bytes);
 * ```
 */
export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #attempts: number;
  readonly #retryBaseMs: number;

  constructor(options: S3BlobStoreOptions) {
    const { bucket, prefix = '', deleteAttempts = 5, retryBaseMs = 50 } = options;
    if (typeof bucket !== 'string' || bucket.length < 3)
      throw new InvalidArgumentError(
        `Expected options.bucket to be a bucket name, got ${String(bucket)} (${typeof bucket})`,
      );
    if (!Number.isSafeInteger(deleteAttempts) || deleteAttempts < 1)
      throw new InvalidArgumentError(
        `Expected options.deleteAttempts to be an integer >= 1, got ${String(deleteAttempts)} (${typeof deleteAttempts})`,
      );
    this.#client = options.client;
    this.#bucket = bucket;
    this.#prefix = prefix;
    this.#attempts = deleteAttempts;
    this.#retryBaseMs = retryBaseMs;
  }

  /** {@inheritDoc BlobStore.put} */
  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key, Body: bytes }),
    );
  }

  /**
   * {@inheritDoc BlobStore.get} A range is one GetObject with an HTTP `Range` header; S3 answers a
   * range that starts past the end with InvalidRange and one that runs past it with fewer bytes,
   * both a {@link ProtocolError} here.
   */
  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    if (range !== undefined) byteRange(range);
    const where = `s3://${this.#bucket}/${this.#prefix}${key}`;
    let bytes: Uint8Array;
    try {
      const out = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.#prefix + key,
          ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}),
        }),
      );
      bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (e instanceof NoSuchKey || name === 'NoSuchKey') throw new ProtocolError(`No blob at ${where}`);
      if (range && name === 'InvalidRange')
        throw new ProtocolError(`Blob ${where} ends before the range [${range.start}, ${range.end})`);
      throw e;
    }
    if (range && bytes.byteLength !== range.end - range.start)
      throw new ProtocolError(
        `Blob ${where} returned ${bytes.byteLength} bytes for the range [${range.start}, ${range.end})`,
      );
    return bytes;
  }

  /**
   * {@inheritDoc BlobStore.deletePrefix} Lists the keys page by page (1,000 a page) and deletes each
   * page with one DeleteObjects call; keys it reports as errors are retried, then reported with
   * {@link AwsBatchError}. With `maxKeys`, stops after the page that reaches it.
   */
  async deletePrefix(
    prefix: string,
    options: { readonly maxKeys?: number } = {},
  ): Promise<{ more: boolean }> {
    const max =
      options.maxKeys === undefined
        ? Number.POSITIVE_INFINITY
        : integer(options.maxKeys, 'options.maxKeys', 1);
    let token: string | undefined;
    let deleted = 0;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: this.#prefix + prefix,
          MaxKeys: Math.min(DELETE_BATCH, max - deleted),
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
      if (keys.length > 0) await this.#deleteKeys(keys);
      deleted += keys.length;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token && deleted < max);
    return { more: token !== undefined };
  }

  async #deleteKeys(keys: string[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const out = await this.#client.send(
        new DeleteObjectsCommand({
          Bucket: this.#bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const errors = out.Errors ?? [];
      if (errors.length === 0) return;
      const failures: BatchFailure[] = errors.map((e) => ({
        id: e.Key ?? '?',
        code: e.Code ?? 'Unknown',
        ...(e.Message === undefined ? {} : { message: e.Message }),
      }));
      if (attempt >= this.#attempts) throw new AwsBatchError('S3.DeleteObjects', failures, attempt);
      keys = failures.map((f) => f.id);
      await backoff(attempt - 1, retryBounds(this.#retryBaseMs));
    }
  }
}
