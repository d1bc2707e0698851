/**
 * Planning a submitted job: from the request's input to the plan stored with the job
 * (`job-plan.ts`). Only sizes are read here, never a whole input that could grow with the job: a
 * `range()` is arithmetic, `lines()` reads the object's size, a `segments` input was uploaded by
 * its caller. Items that came in the request itself (at most a few MB) are sent by this invocation;
 * when they make more chunks than one invocation sends, they are written to the blob store as
 * segments first, so that the fan-out tree can send them like any other plan.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Backend } from '../ports.js';
import { blobKeys } from './blob-keys.js';
import { decodeList } from './codec.js';
import type { CoordinatorRequest, JobInput } from './coordinator.js';
import { FINGERPRINT_TAG_CHARS } from './fingerprint.js';
import type { JobPlan, PlanInput } from './job-plan.js';
import { defaultChunkBytes, sourceName } from './lines.js';
import { ChunkPlanner, defaultChunksize } from './plan.js';
import { Range } from './range.js';
import { encodeSegments } from './segments.js';

/** A submitted job's plan, and for an inline plan the items this invocation sends. */
export interface Planned {
  readonly plan: JobPlan;
  /** The chunks of an `inline` plan. */
  readonly inline?: ChunkPlanner;
}

type Submit = Extract<CoordinatorRequest, { type: 'submit' }>;

/**
 * Plans the job of `req`. `leafChunks` is the most chunks this invocation sends itself when it
 * can hand the rest on (undefined: it sends everything, so inline items stay inline).
 */
export async function planSubmit(
  req: Submit,
  backend: Backend,
  leafChunks: number | undefined,
  fingerprint: string,
): Promise<Planned> {
  const flags = {
    ...(req.handles ? { handles: true as const } : {}),
    ...(req.process ? { process: req.process } : {}),
    fingerprint,
  };
  const plan = (input: PlanInput): JobPlan => ({ v: 1, input, ...flags });
  const planned = (input: PlanInput): Planned => ({ plan: plan(input) });
  const { input } = req;
  switch (input.kind) {
    case 'range': {
      const r = new Range(input.start, input.stop, input.step);
      const chunksize = req.chunksize ?? defaultChunksize(r.length, req.workers);
      // An empty range is a job of no chunks; a chunk size of 1 keeps the plan valid.
      return planned({
        kind: 'range',
        start: r.start,
        step: r.step,
        items: r.length,
        chunksize: Math.max(1, chunksize),
      });
    }
    case 'lines': {
      const { objects } = backend;
      if (!objects)
        throw new InvalidArgumentError(
          `lines(${sourceName(input.source)}) needs a backend that reads objects, and this one has none`,
        );
      const size = await objects.size(input.source);
      const chunkBytes = input.chunkBytes ?? defaultChunkBytes(size, req.workers);
      return planned({ kind: 'lines', source: input.source, size, chunkBytes });
    }
    case 'segments':
      return planned({ ...input, kind: 'segments' });
    case 'items':
    case 'values':
      return planItems(req, backend, itemsOf(input), leafChunks, plan, fingerprint);
    case 'open':
      return planned({ kind: 'open' });
  }
}

/** The items of an inline input. */
function itemsOf(input: Extract<JobInput, { kind: 'items' | 'values' }>): readonly unknown[] {
  if (input.kind === 'values') return input.items;
  if (!('bytes' in input.data))
    throw new InvalidArgumentError(
      'A submitted input goes inline or as segments; a blob of the whole input is not read (it could be any size)',
    );
  return Array.from(decodeList(input.data));
}

async function planItems(
  req: Submit,
  backend: Backend,
  items: readonly unknown[],
  leafChunks: number | undefined,
  plan: (input: PlanInput) => JobPlan,
  fingerprint: string,
): Promise<Planned> {
  const chunksize = req.chunksize ?? defaultChunksize(items.length, req.workers);
  const inline = new ChunkPlanner(items, chunksize);
  if (leafChunks === undefined || inline.count <= leafChunks)
    return { plan: plan({ kind: 'inline', count: inline.count }), inline };
  // Put before the job exists: a job whose plan names the blob always has it.
  const key = blobKeys.submitted(req.jobId, fingerprint.slice(0, FINGERPRINT_TAG_CHARS));
  const { bytes, layout } = encodeSegments(items, chunksize, key);
  await backend.blobs.put(layout.blob, bytes);
  return { plan: plan({ kind: 'segments', ...layout }) };
}
