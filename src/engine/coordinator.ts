/**
 * The coordinator: creates jobs idempotently, plans their chunks and fans them out on the work
 * queue, itself or through a tree of further invocations of its own (`fanout.ts`); feeds and seals
 * open jobs; cancels. The local client calls it in-process; on AWS the coordinator Lambda calls it
 * with requests validated by `parseCoordinatorRequest`.
 */
import { JobConflictError, JobReleasedError, ProtocolError } from '../errors.js';
import type {
  Backend,
  CallMode,
  ChunkInput,
  Data,
  Encoding,
  FanoutRequest,
  JobKind,
  JobRecord,
  ObjectSource,
  WorkMessage,
} from '../ports.js';
import { type BackupRequest, backupChunks } from './backup.js';
import { blobKeys } from './blob-keys.js';
import { spill } from './codec.js';
import { FanOut, type FanoutOptions, type Invocation } from './fanout.js';
import { submitFingerprint } from './fingerprint.js';
import { encodePlan, type JobPlan, parsePlan, planCount, replannable } from './job-plan.js';
import { planSubmit } from './submit.js';

/** A job's whole input, as a request carries it. */
export type JobInput =
  /** `range(start, stop, step)`, split without materialising. */
  | { readonly kind: 'range'; readonly start: number; readonly stop: number; readonly step: number }
  /** An encoded list of items, inline (a larger input travels as `segments`). */
  | { readonly kind: 'items'; readonly data: Data }
  /**
   * A large input already in the blob store, chunk-addressable (`segments.ts`): `items` items in
   * chunks of `chunksize`, encoded with `enc`, their index at byte `indexAt` of `blob`.
   */
  | {
      readonly kind: 'segments';
      readonly blob: string;
      readonly enc: Encoding;
      readonly items: number;
      readonly chunksize: number;
      readonly indexAt: number;
    }
  /**
   * Items already in memory: only for in-process calls, never over a wire. `fresh`: the job id
   * was drawn for this one request by the client (a random UUID, not the caller's), so no other
   * input can come under it and the fingerprint need not digest the items (`fingerprint.ts`).
   */
  | { readonly kind: 'values'; readonly items: readonly unknown[]; readonly fresh?: true }
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
  /**
   * The caller has what it needed: mark the job released (its records expire) and delete its
   * blobs, at most {@link RELEASE_BLOBS_PER_CALL} a call; the coordinator fires the same request at
   * itself while blobs remain, or, without an invoker, answers `more` (call again).
   */
  | { readonly v: 1; readonly type: 'release'; readonly jobId: string }
  /** The job passed its deadline: fail it as expired (refused before the deadline). */
  | { readonly v: 1; readonly type: 'expire'; readonly jobId: string }
  /** Send (or split further) a range of a job's chunks: a node of the fan-out tree, never a caller's. */
  | FanoutRequest
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
  /** A release left blobs of the job to delete and could not go on by itself: release it again. */
  readonly more?: true;
  /** Chunks a backup request sent again. */
  readonly sent?: number;
}

/** Options of {@link Coordinator}: how it fans a job's chunks out (`fanout.ts`). */
export type CoordinatorOptions = FanoutOptions;

/** The most blobs one release request deletes: a bounded call, resumed by the next request. */
export const RELEASE_BLOBS_PER_CALL = 10_000;

/** Handles coordinator requests against a backend. */
export class Coordinator {
  readonly #b: Backend;
  readonly #fan: FanOut;

  constructor(backend: Backend, options: CoordinatorOptions = {}) {
    this.#b = backend;
    this.#fan = new FanOut(backend, messageOf, options);
  }

  /**
   * Handles one (already validated) request. `invocation` bounds the time this call may spend
   * sending chunks before it hands the rest on (none: it sends everything it is asked to).
   */
  async handle(req: CoordinatorRequest, invocation: Invocation = {}): Promise<CoordinatorResponse> {
    switch (req.type) {
      case 'submit':
        return this.#submit(req, invocation);
      case 'fanout':
        return this.#fanout(req, invocation);
      case 'append':
        return this.#append(req);
      case 'seal': {
        const { job, complete } = await this.#b.store.seal(req.jobId, req.total);
        // The last chunks were recorded before the seal: no host found the job complete. Finalise.
        if (complete) await this.#b.queue.send([{ v: 1, type: 'finalise', jobId: req.jobId }]);
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
      case 'release': {
        // A tombstone, not a sweep: the job's records expire by TTL. Only its blobs are deleted.
        await this.#b.store.releaseJob(req.jobId);
        const { more } = await this.#b.blobs.deletePrefix(blobKeys.job(req.jobId), {
          maxKeys: RELEASE_BLOBS_PER_CALL,
        });
        if (!more) return { jobId: req.jobId };
        // Blobs remain. With an invoker the coordinator goes on by itself: the same request, fired
        // asynchronously (retried by Lambda, and idempotent), so the caller's one request is the
        // whole of its part. Without one, the caller asks again while `more` says so.
        const { invoker } = this.#b;
        if (!invoker) return { jobId: req.jobId, more: true };
        await invoker.coordinator({ v: 1, type: 'release', jobId: req.jobId });
        return { jobId: req.jobId };
      }
      case 'backup':
        return { jobId: req.jobId, ...(await backupChunks(this.#b, req)) };
      default:
        throw new ProtocolError(
          `Unknown coordinator request type ${JSON.stringify((req as { type?: unknown }).type)}`,
        );
    }
  }

  /**
   * Creates the job with its plan, then sends its chunks: an inline input here, all of it; any
   * other through the fan-out tree (this invocation sends at most a leaf, within its budget).
   * A retried submit finds the job and sends again by the plan stored with it: duplicates are
   * recorded once (the store's conditional write), and a first attempt that died half-way is
   * completed.
   */
  async #submit(
    req: Extract<CoordinatorRequest, { type: 'submit' }>,
    invocation: Invocation,
  ): Promise<CoordinatorResponse> {
    const { store, queue, blobs } = this.#b;
    const fingerprint = submitFingerprint(req);
    const planned = await planSubmit(
      req,
      this.#b,
      this.#b.invoker ? this.#fan.leafChunks : undefined,
      fingerprint,
    );
    const total = planCount(planned.plan.input);
    const { created, job } = await store.createJob({
      id: req.jobId,
      kind: req.kind,
      task: req.task,
      deadline: req.deadline,
      plan: encodePlan(planned.plan),
      ...(total === undefined ? {} : { total }),
      ...(req.reducer ? { reducer: req.reducer } : {}),
      ...(req.initial ? { initial: req.initial } : {}),
    });
    // An id is never reused: a message of the released job could be taken for the new one's.
    if (job.released) throw new JobReleasedError(req.jobId);
    const stored = created || job.plan === undefined ? planned.plan : parsePlan(job.plan, job.id);
    // Another request under this id: its chunks would be recorded as the first job's. A plan
    // written before fingerprints were kept has none, and is trusted as before.
    if (stored.fingerprint !== undefined && stored.fingerprint !== fingerprint)
      throw new JobConflictError(req.jobId);
    const response = { jobId: req.jobId, created, ...(total === undefined ? {} : { total }), job };
    if (total === undefined || job.status !== 'RUNNING') return response;
    // No chunk will ever see done === total (an empty input): finalise the job right away.
    if (total === 0) {
      await queue.send([{ v: 1, type: 'finalise', jobId: req.jobId }]);
      return response;
    }
    const plan = stored;
    const perWorker = this.#fan.perWorker(total);
    const { inline } = planned;
    if (replannable(plan.input)) {
      await this.#fan.spread(job, { ...plan, input: plan.input }, 0, total, perWorker, invocation);
    } else if (inline) {
      const mode = modeOf(job.kind);
      await this.#fan.sendAll(req.jobId, total, perWorker, async (from, to) => {
        const batch: WorkMessage[] = [];
        for (let k = from; k < to; k++) {
          const input = await inline.input(k, queue.maxPayloadBytes, blobs, blobKeys.input(req.jobId, k));
          batch.push(
            chunkMessage(req.jobId, k, req.task, mode, req.reducer, input, {
              ...flagsOf(plan),
              ...layoutOf(job),
            }),
          );
        }
        return batch;
      });
    }
    return response;
  }

  /** A node of the fan-out tree: sends or splits its range by the job's stored plan. */
  async #fanout(req: FanoutRequest, invocation: Invocation): Promise<CoordinatorResponse> {
    const job = await this.#b.store.getJob(req.jobId);
    // A job that ended (or was released) needs no more chunks.
    if (job?.status !== 'RUNNING') return { jobId: req.jobId, ...(job ? { job } : {}) };
    const plan = parsePlan(job.plan, job.id);
    const total = planCount(plan.input);
    if (!replannable(plan.input) || total === undefined)
      throw new ProtocolError(
        `A fanout request cannot send the chunks of job ${job.id}: its plan is "${plan.input.kind}", which only the submitting invocation holds`,
      );
    if (req.to > total)
      throw new ProtocolError(
        `A fanout request for chunks [${req.from}, ${req.to}) of job ${job.id}, which has ${total}`,
      );
    await this.#fan.spread(job, { ...plan, input: plan.input }, req.from, req.to, req.perWorker, invocation);
    return { jobId: req.jobId, total };
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
}

/** How a job's chunks call its task. */
function modeOf(kind: JobKind): CallMode {
  return kind === 'mapReduce' ? 'reduce' : kind;
}

/** Chunk `index`'s message, from the job and its plan. */
function messageOf(job: JobRecord, plan: JobPlan, index: number, input: ChunkInput): WorkMessage {
  return chunkMessage(job.id, index, job.task, modeOf(job.kind), job.reducer, input, {
    ...flagsOf(plan),
    ...layoutOf(job),
  });
}

/** The job's layout, carried by each chunk so that its host records it without reading the job. */
function layoutOf(job: JobRecord): { shards: number; deadline: number } {
  return { shards: job.shards, deadline: job.deadline };
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

/** The optional fields a chunk message carries (see `WorkMessage`). */
export interface ChunkFlags {
  readonly handles?: true;
  readonly process?: string;
  readonly shards?: number;
  readonly deadline?: number;
  readonly backup?: true;
}

function flagsOf(req: { readonly handles?: true; readonly process?: string }): ChunkFlags {
  return {
    ...(req.handles ? { handles: true as const } : {}),
    ...(req.process ? { process: req.process } : {}),
  };
}
