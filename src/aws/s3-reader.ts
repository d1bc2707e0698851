/** The {@link ObjectReader} port on Amazon S3: `lines()` of an object in a user's bucket, by byte ranges. */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import type { ObjectReader, ObjectSource } from '../ports.js';

function objectOf(source: ObjectSource): { bucket: string; key: string } {
  if (!('bucket' in source))
    throw new InvalidArgumentError(
      `The AWS context reads S3 objects, not local files (got ${source.path}): pass { bucket, key }`,
    );
  return source;
}

function notFound(e: unknown, url: string): never {
  const name = (e as { name?: string }).name;
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket' || status === 404)
    throw new ProtocolError(`No object at ${url}`);
  throw e;
}

/**
 * Reads byte ranges of S3 objects: `HeadObject` for the size, `GetObject` with `Range:
 * bytes=start-(end-1)` for the bytes. The caller's credentials (the worker and coordinator roles on
 * Lambda) need `s3:GetObject` on the objects.
 *
 * @example
 * ```ts
 * const reader = new S3ObjectReader({ client: createS3Client() });
 * const size = await reader.size({ bucket: 'logs', key: 'day.log' });
 * ```
 */
export class S3ObjectReader implements ObjectReader {
  readonly #client: S3Client;

  constructor(options: { readonly client: S3Client }) {
    this.#client = options.client;
  }

  /** {@inheritDoc ObjectReader.size} */
  async size(source: ObjectSource): Promise<number> {
    const { bucket, key } = objectOf(source);
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return out.ContentLength ?? 0;
    } catch (e) {
      return notFound(e, `s3://${bucket}/${key}`);
    }
  }

  /** {@inheritDoc ObjectReader.read} */
  async read(source: ObjectSource, start: number, end: number): Promise<Uint8Array> {
    const { bucket, key } = objectOf(source);
    if (end <= start) return new Uint8Array(0);
    let bytes: Uint8Array;
    try {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}` }),
      );
      bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
    } catch (e) {
      return notFound(e, `s3://${bucket}/${key}`);
    }
    if (bytes.length !== end - start)
      throw new ProtocolError(
        `s3://${bucket}/${key} returned ${bytes.length} bytes for [${start}, ${end}): it changed since the job was planned`,
      );
    return bytes;
  }
}
