/**
 * The coordinator: creates jobs idempotently, plans their chunks and fans them out on the work
 * queue; feeds and seals open jobs; cancels. The local client calls it in-process; on AWS the
 * coordinator Lambda calls it with requests validated by `parseCoordinatorRequest`.
 */
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import type {
  Backend,
  BlobStore,
  CallMode,
  ChunkInput,
  Data,
  JobKind,
  JobRecord,
  ObjectSource,
  WorkMessage,
} from '../ports.js';
import { type BackupRequest, backupChunks } from './backup.js';
import { blobKeys } from './blob-keys.js';
import { decodeList, spill, unspill } from './codec.js';
import { defaultChunkBytes, rangeCount, sourceName } from './lines.js';
import { ChunkPlanner, defaultChunksize, type SizedInput } from './plan.js';
import { Range } from './range.js';

/** A job's whole input, as a request carries it. */
export type JobInput =
  /** `range(start, stop, step)`, split without materialising. */
  | { readonly kind: 'range'; readonly start: number; readonly stop: number; readonly step: number }
  /** An encoded list of items (inline, or a blob reference for large inputs). */
  | { readonly kind: 'items'; readonly data: Data }
  /** Items already in memory: only for in-process calls, never over a wire. */
  | { readonly kind: 'values'; readonly items: readonly unknown[] }
  /**
   * The lines of an object (`lines()`), split into byte ranges of `chunkBytes` (a default from the
   * object's size and `workers` when absent). The coordinator reads only the object's size.
   */
  | { readonly kind: 'lines'; readonly source: ObjectSource; readonly chunkBytes?: number }
  /** No input yet: an open job, fed with `append` and ended with `seal` (imap). */
  | { readonly kind: 'open' };

/** Requests the coordinator handles. Every one carries the protocol version `v`. */
export type CoordinatorRequest =
  | {
      readonly v: 1;
      readonly type: 'submit';
      readonly jobId: string;
      readonly kind: JobKind;
      readonly task: string;
      readonly reducer?: string;
      /** Encoded one-item list: the fold's initial value. */
      readonly initial?: Data;
      readonly input: JobInput;
      /** Items per chunk; CPython's rule over `workers` when absent. */
      readonly chunksize?: number;
      /** Parallel workers, for the default chunksize. */
      readonly workers: number;
      /** Epoch ms. */
      readonly deadline: number;
      /** Some items hold primitives' handles (see `WorkMessage`). */
      readonly handles?: true;
      /** The job is a `Process` of this name (one chunk, run on a thread of its own). */
      readonly process?: string;
    }
  | {
      readonly v: 1;
      readonly type: 'append';
      readonly jobId: string;
      readonly task: string;
      readonly mode: 'map' | 'starmap';
      /** Index of the first chunk, and of its first item in the whole input. */
      readonly firstIndex: number;
      readonly offset: number;
      readonly chunks: readonly { readonly count: number; readonly data: Data }[];
      /** Some items of these chunks hold primitives' handles. */
      readonly handles?: true;
    }
  | { readonly v: 1; readonly type: 'seal'; readonly jobId: string; readonly total: number }
  | { readonly v: 1; readonly type: 'cancel'; readonly jobId: string; readonly reason: string }
  /** The caller has its results: delete the job's records and blobs. */
  | { readonly v: 1; readonly type: 'release'; readonly jobId: string }
  /** The job passed its deadline: fail it as expired (refused before the deadline). */
  | { readonly v: 1; readonly type: 'expire'; readonly jobId: string }
  /** Send straggling chunks again (`backup.ts`). */
  | BackupRequest;

/** What each request returns. */
export interface CoordinatorResponse {
  readonly jobId: string;
  /** False when a submit found the job already created (a retried request). */
  readonly created?: boolean;
  /** Chunks of the job, when known. */
  readonly total?: number;
  readonly job?: JobRecord;
  /** Chunks a backup request sent again. */
  readonly sent?: number;
}

const SEND_BATCH = 500;

/** Handles coordinator requests against a backend. */
export class Coordinator {
  readonly #b: Backend;

  constructor(backend: Backend) {
    this.#b = backend;
  }

  /** Handles one (already validated) request. */
  async handle(req: CoordinatorRequest): Promise<CoordinatorResponse> {
    switch (req.type) {
      case 'submit':
        return this.#submit(req);
      case 'append':
        return this.#append(req);
      case 'seal': {
        const job = await this.#b.store.seal(req.jobId, req.total);
        // If the last chunk was recorded before the seal, no host saw done === total: finalise.
        if (job.status === 'RUNNING' && job.done === req.total) {
          await this.#b.queue.send([{ v: 1, type: 'finalise', jobId: req.jobId }]);
        }
        return { jobId: req.jobId, total: req.total, job };
      }
      case 'cancel': {
        const { job } = await this.#b.store.cancelJob(req.jobId, req.reason);
        return { jobId: req.jobId, ...(job ? { job } : {}) };
      }
      case 'expire': {
        const found = await this.#b.store.getJob(req.jobId);
        // The deadline is the job's own, not the caller's word for it.
        if (!found || Date.now() <= found.deadline)
          return { jobId: req.jobId, ...(found ? { job: found } : {}) };
        const { job } = await this.#b.store.failJob(req.jobId, {
          reason: 'expired',
          name: 'JobExpiredError',
          message: `Job ${req.jobId} passed its deadline before it ended`,
        });
        return { jobId: req.jobId, ...(job ? { job } : {}) };
      }
      case 'release':
        await this.#b.store.deleteJob(req.jobId);
        await this.#b.blobs.deletePrefix(blobKeys.job(req.jobId));
        return { jobId: req.jobId };
      case 'backup':
        return { jobId: req.jobId, ...(await backupChunks(this.#b, req)) };
      default:
        throw new ProtocolError(
          `Unknown coordinator request type ${JSON.stringify((req as { type?: unknown }).type)}`,
        );
    }
  }

  async #submit(req: Extract<CoordinatorRequest, { type: 'submit' }>): Promise<CoordinatorResponse> {
    const { store, queue, blobs } = this.#b;
    const planner: Planner | undefined =
      req.input.kind === 'lines'
        ? await this.#linesPlanner(req.input, req.workers)
        : await this.#items(req.input).then((items) =>
            items === undefined
              ? undefined
              : new ChunkPlanner(items, req.chunksize ?? defaultChunksize(items.length, req.workers)),
          );
    const { created, job } = await store.createJob({
      id: req.jobId,
      kind: req.kind,
      task: req.task,
      deadline: req.deadline,
      ...(planner ? { total: planner.count } : {}),
      ...(req.reducer ? { reducer: req.reducer } : {}),
      ...(req.initial ? { initial: req.initial } : {}),
    });
    // A retried submit re-sends every chunk: duplicates are recorded once (the store's
    // conditional write), and a first attempt that died half-way is completed.
    if (planner && job.status === 'RUNNING') {
      const mode: CallMode = req.kind === 'mapReduce' ? 'reduce' : req.kind;
      for (let i = 0; i < planner.count; i += SEND_BATCH) {
        const batch: WorkMessage[] = [];
        for (let k = i; k < Math.min(planner.count, i + SEND_BATCH); k++) {
          const input = await planner.input(k, queue.maxPayloadBytes, blobs, blobKeys.input(req.jobId, k));
          batch.push(chunkMessage(req.jobId, k, req.task, mode, req.reducer, input, flagsOf(req)));
        }
        await queue.send(batch);
      }
      // No chunk will ever see done === total (an empty object): finalise the job right away.
      if (planner.count === 0) await queue.send([{ v: 1, type: 'finalise', jobId: req.jobId }]);
    }
    return { jobId: req.jobId, created, ...(planner ? { total: planner.count } : {}), job };
  }

  async #append(req: Extract<CoordinatorRequest, { type: 'append' }>): Promise<CoordinatorResponse> {
    const { queue, blobs } = this.#b;
    const batch: WorkMessage[] = [];
    let offset = req.offset;
    for (let k = 0; k < req.chunks.length; k++) {
      const c = req.chunks[k]!;
      const index = req.firstIndex + k;
      const data =
        'bytes' in c.data
          ? await spill(c.data, queue.maxPayloadBytes, blobs, blobKeys.input(req.jobId, index))
          : c.data;
      batch.push(
        chunkMessage(
          req.jobId,
          index,
          req.task,
          req.mode,
          undefined,
          {
            kind: 'items',
            offset,
            count: c.count,
            data,
          },
          flagsOf(req),
        ),
      );
      offset += c.count;
    }
    await queue.send(batch);
    return { jobId: req.jobId };
  }

  async #linesPlanner(input: Extract<JobInput, { kind: 'lines' }>, workers: number): Promise<Planner> {
    const { objects } = this.#b;
    if (!objects)
      throw new InvalidArgumentError(
        `lines(${sourceName(input.source)}) needs a backend that reads objects, and this one has none`,
      );
    const size = await objects.size(input.source);
    const chunkBytes = input.chunkBytes ?? defaultChunkBytes(size, workers);
    const count = rangeCount(size, chunkBytes);
    const { source } = input;
    return {
      count,
      async input(i) {
        const start = i * chunkBytes;
        const end = Math.min(size, start + chunkBytes);
        return { kind: 'bytes', offset: 0, count: end - start, source, start, end, size };
      },
    };
  }

  async #items(input: JobInput): Promise<SizedInput | undefined> {
    switch (input.kind) {
      case 'range':
        return new Range(input.start, input.stop, input.step);
      case 'values':
        return input.items;
      case 'items':
        return Array.from(decodeList(await unspill(input.data, this.#b.blobs)));
      case 'open':
      case 'lines':
        return undefined;
    }
  }
}

/** Plans a sealed job's chunks: their number, and each one's input. */
interface Planner {
  readonly count: number;
  input(i: number, limit: number, blobs: BlobStore, blobKey: string): Promise<ChunkInput>;
}

/** Builds a chunk message. */
export function chunkMessage(
  jobId: string,
  index: number,
  task: string,
  mode: CallMode,
  reducer: string | undefined,
  input: ChunkInput,
  flags: ChunkFlags = {},
): WorkMessage {
  return { v: 1, type: 'chunk', jobId, index, task, mode, input, ...(reducer ? { reducer } : {}), ...flags };
}

/** The optional flags a chunk message carries (see `WorkMessage`). */
export interface ChunkFlags {
  readonly handles?: true;
  readonly process?: string;
}

function flagsOf(req: { readonly handles?: true; readonly process?: string }): ChunkFlags {
  return {
    ...(req.handles ? { handles: true as const } : {}),
    ...(req.process ? { process: req.process } : {}),
  };
}
