/** An in-memory {@link BlobStore} standing in for the S3 bucket. */
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import type { BlobStore, ByteRange, GetOptions, PutOptions } from '../ports.js';
import { byteRange, integer } from '../validate.js';

/**
 * Blobs in a `Map`, copied on the way in and on the way out so no caller aliases stored bytes;
 * bytes put as `owned` that span their whole buffer are kept as they are (nobody else holds them).
 *
 * @example
 * ```ts
 * const blobs = new MemoryBlobStore();
 * await blobs.put('jobs/j1/input/0', bytes);
 * const same = await blobs.get('jobs/j1/input/0');
 * await blobs.deletePrefix('jobs/j1/');
 * ```
 */
export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, Uint8Array>();

  /** {@inheritDoc BlobStore.put} Replaces any blob stored at `key`. */
  async put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<void> {
    if (typeof key !== 'string' || key.length === 0) {
      throw new InvalidArgumentError(
        `Expected key to be a non-empty string, got ${String(key)} (${typeof key})`,
      );
    }
    // A view of part of a larger buffer is copied even when owned: keeping it would keep the rest.
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    this.#blobs.set(key, options?.owned === true && whole ? bytes : new Uint8Array(bytes));
  }

  /** {@inheritDoc BlobStore.get} A copy, or with `lend` the stored bytes themselves. */
  async get(key: string, range?: ByteRange, options?: GetOptions): Promise<Uint8Array> {
    if (range !== undefined) byteRange(range);
    const bytes = this.#blobs.get(key);
    if (bytes === undefined) throw new ProtocolError(`No blob is stored at key "${key}"`);
    const lend = options?.lend === true;
    if (range === undefined) return lend ? bytes : new Uint8Array(bytes);
    if (range.end > bytes.byteLength)
      throw new ProtocolError(
        `Blob "${key}" has ${bytes.byteLength} bytes, fewer than the range [${range.start}, ${range.end}) needs`,
      );
    return lend ? bytes.subarray(range.start, range.end) : bytes.slice(range.start, range.end);
  }

  /** {@inheritDoc BlobStore.deletePrefix} */
  async deletePrefix(
    prefix: string,
    options: { readonly maxKeys?: number } = {},
  ): Promise<{ more: boolean }> {
    let left =
      options.maxKeys === undefined
        ? Number.POSITIVE_INFINITY
        : integer(options.maxKeys, 'options.maxKeys', 1);
    for (const key of this.#blobs.keys()) {
      if (!key.startsWith(prefix)) continue;
      if (left === 0) return { more: true };
      this.#blobs.delete(key);
      left--;
    }
    return { more: false };
  }

  /** The stored keys, sorted (for tests that check what a job left behind). */
  keys(): string[] {
    return [...this.#blobs.keys()].sort();
  }
}
