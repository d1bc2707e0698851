/**
 * Stores that exist before the resources they talk to are known: a pool of the AWS context is made
 * synchronously (`mp.Pool()`), while the stack's outputs are read on its first call. Its job client
 * is given these, whose every call waits for the real store, made once the resources are found.
 */
import type { BlobStore, JobStore } from '../ports.js';

/**
 * A {@link JobStore} whose every call waits for the real one (made once the resources are known).
 * It has no `waitForChange`: the store behind it, DynamoDB, cannot notify, so a caller polls.
 */
export class DeferredJobStore implements JobStore {
  readonly #get: () => Promise<JobStore>;
  readonly maxInlineBytes: number;
  constructor(get: () => Promise<JobStore>, maxInlineBytes: number) {
    this.#get = get;
    this.maxInlineBytes = maxInlineBytes;
  }
  async createJob(...a: Parameters<JobStore['createJob']>) {
    return (await this.#get()).createJob(...a);
  }
  async seal(...a: Parameters<JobStore['seal']>) {
    return (await this.#get()).seal(...a);
  }
  async completeChunk(...a: Parameters<JobStore['completeChunk']>) {
    return (await this.#get()).completeChunk(...a);
  }
  async completeChunks(...a: Parameters<JobStore['completeChunks']>) {
    return (await this.#get()).completeChunks(...a);
  }
  async failJob(...a: Parameters<JobStore['failJob']>) {
    return (await this.#get()).failJob(...a);
  }
  async cancelJob(...a: Parameters<JobStore['cancelJob']>) {
    return (await this.#get()).cancelJob(...a);
  }
  async claimRun(...a: Parameters<JobStore['claimRun']>) {
    return (await this.#get()).claimRun(...a);
  }
  async claimFinaliser(...a: Parameters<JobStore['claimFinaliser']>) {
    return (await this.#get()).claimFinaliser(...a);
  }
  async finishJob(...a: Parameters<JobStore['finishJob']>) {
    return (await this.#get()).finishJob(...a);
  }
  async noteChunkError(...a: Parameters<JobStore['noteChunkError']>) {
    return (await this.#get()).noteChunkError(...a);
  }
  async lastChunkError(...a: Parameters<JobStore['lastChunkError']>) {
    return (await this.#get()).lastChunkError(...a);
  }
  async countBackups(...a: Parameters<JobStore['countBackups']>) {
    return (await this.#get()).countBackups(...a);
  }
  async getJob(...a: Parameters<JobStore['getJob']>) {
    return (await this.#get()).getJob(...a);
  }
  async readResults(...a: Parameters<JobStore['readResults']>) {
    return (await this.#get()).readResults(...a);
  }
  async readAttempts(...a: Parameters<JobStore['readAttempts']>) {
    return (await this.#get()).readAttempts(...a);
  }
  async pendingChunks(...a: Parameters<JobStore['pendingChunks']>) {
    return (await this.#get()).pendingChunks(...a);
  }
  async releaseJob(...a: Parameters<JobStore['releaseJob']>) {
    return (await this.#get()).releaseJob(...a);
  }
}

/** A {@link BlobStore} whose every call waits for the real one. */
export class DeferredBlobStore implements BlobStore {
  readonly #get: () => Promise<BlobStore>;
  constructor(get: () => Promise<BlobStore>) {
    this.#get = get;
  }
  async put(...a: Parameters<BlobStore['put']>) {
    return (await this.#get()).put(...a);
  }
  async get(...a: Parameters<BlobStore['get']>) {
    return (await this.#get()).get(...a);
  }
  async deletePrefix(...a: Parameters<BlobStore['deletePrefix']>) {
    return (await this.#get()).deletePrefix(...a);
  }
}
