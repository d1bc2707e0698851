/**
 * A job's plan: what any coordinator invocation needs to build the message of any of the job's
 * chunks without its caller. It is stored on the job when the job is created (`JobSpec.plan`, as
 * JSON text the store keeps as given), so that the fan-out tree's invocations, and a straggler's
 * backup, plan chunk `i` from the job alone, in time and memory that do not grow with the job.
 * A plan read back from the store crosses a boundary: it is validated here like a message.
 */
import { FieldReader, type Fields } from '../fields.js';
import type { ChunkInput, Encoding, ObjectSource } from '../ports.js';
import { blobKeys } from './blob-keys.js';
import { checkSource } from './lines.js';
import { chunkFlags, PROTOCOL_VERSION } from './protocol.js';
import { readSegments, type SegmentsLayout, segmentCount } from './segments.js';

/** Where a job's chunks come from, and how they are cut. */
export type PlanInput =
  /** `items` numbers `start + k * step`, in chunks of `chunksize`: a `range()` never materialised. */
  | {
      readonly kind: 'range';
      readonly start: number;
      readonly step: number;
      readonly items: number;
      readonly chunksize: number;
    }
  /** The lines of an object of `size` bytes, in byte ranges of `chunkBytes` (`lines()`). */
  | {
      readonly kind: 'lines';
      readonly source: ObjectSource;
      readonly size: number;
      readonly chunkBytes: number;
    }
  /** A large inline input uploaded chunk-addressably (`segments.ts`). */
  | ({ readonly kind: 'segments' } & SegmentsLayout)
  /**
   * `count` chunks whose items came in the request that created the job: that invocation sends
   * them all (a request is at most a few MB); they cannot be planned again without it.
   */
  | { readonly kind: 'inline'; readonly count: number }
  /** An open job (`imap`): its chunks arrive with `append` requests. */
  | { readonly kind: 'open' };

/** A job's plan. */
export interface JobPlan {
  readonly v: 1;
  readonly input: PlanInput;
  /** Some items hold primitives' handles (see `WorkMessage`). */
  readonly handles?: true;
  /** The job is a `Process` of this name. */
  readonly process?: string;
  /** The digest of the request that created the job (`fingerprint.ts`); absent in older plans. */
  readonly fingerprint?: string;
}

/** Longest plan text a store is asked to keep (a plan is a few hundred bytes). */
export const MAX_PLAN_CHARS = 8 * 1024;

const fields: FieldReader = new FieldReader('job plan');

/** The plan as the store keeps it. */
export function encodePlan(plan: JobPlan): string {
  return JSON.stringify(plan);
}

/** Reads a job's stored plan; throws `ProtocolError` when it is missing or malformed. */
export function parsePlan(text: string | undefined, jobId: string): JobPlan {
  if (typeof text !== 'string' || text.length > MAX_PLAN_CHARS)
    fields.fail(`the plan of job ${jobId} to be JSON text of at most ${MAX_PLAN_CHARS} characters`, text);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fields.fail(`the plan of job ${jobId} to be JSON`, text);
  }
  const o = fields.object(raw, 'an object');
  fields.version(o, PROTOCOL_VERSION);
  return {
    v: 1,
    input: planInput(fields.object(o.input, 'input to be an object'), jobId),
    ...chunkFlags(o, fields.fail),
    ...(o.fingerprint === undefined ? {} : { fingerprint: fields.string(o, 'fingerprint', 128) }),
  };
}

function planInput(o: Fields, jobId: string): PlanInput {
  const int = (key: string, min = 0) => fields.integer(o, key, min, `input.${key}`);
  switch (o.kind) {
    case 'range':
      return {
        kind: 'range',
        start: fields.integer(o, 'start', Number.MIN_SAFE_INTEGER, 'input.start'),
        step: fields.integer(o, 'step', Number.MIN_SAFE_INTEGER, 'input.step'),
        items: int('items'),
        chunksize: int('chunksize', 1),
      };
    case 'lines':
      return {
        kind: 'lines',
        source: checkSource(o.source, (what, got) => fields.fail(`input.${what}`, got)),
        size: int('size'),
        chunkBytes: int('chunkBytes', 1),
      };
    case 'segments': {
      const blob = fields.string(o, 'blob', 1024, 'input.blob');
      if (!blob.startsWith(blobKeys.job(jobId)))
        fields.fail(`input.blob to be under the job's prefix ${JSON.stringify(blobKeys.job(jobId))}`, blob);
      if (o.enc !== 'v8' && o.enc !== 'f64') fields.fail('input.enc to be "v8" or "f64"', o.enc);
      return {
        kind: 'segments',
        blob,
        enc: o.enc as Encoding,
        items: int('items'),
        chunksize: int('chunksize', 1),
        indexAt: int('indexAt'),
      };
    }
    case 'inline':
      return { kind: 'inline', count: int('count') };
    case 'open':
      return { kind: 'open' };
    default:
      return fields.fail('input.kind to be "range", "lines", "segments", "inline" or "open"', o.kind);
  }
}

/** Number of chunks the plan makes; undefined for an open job (known when it is sealed). */
export function planCount(input: PlanInput): number | undefined {
  switch (input.kind) {
    case 'range':
      return Math.ceil(input.items / input.chunksize);
    case 'lines':
      return Math.ceil(input.size / input.chunkBytes);
    case 'segments':
      return segmentCount(input);
    case 'inline':
      return input.count;
    case 'open':
      return undefined;
  }
}

/** Whether any invocation can build the plan's chunks from the job alone. */
export function replannable(
  input: PlanInput,
): input is Extract<PlanInput, { kind: 'range' | 'lines' | 'segments' }> {
  return input.kind === 'range' || input.kind === 'lines' || input.kind === 'segments';
}

/**
 * The inputs of chunks `[from, to)` of a re-plannable plan (`0 <= from < to <= planCount`). A
 * range or lines plan is arithmetic; a segments plan reads its index slice (one ranged read of
 * `8 × (to - from + 1)` bytes).
 */
export async function planInputs(
  input: Extract<PlanInput, { kind: 'range' | 'lines' | 'segments' }>,
  from: number,
  to: number,
  blobs: Parameters<typeof readSegments>[0],
): Promise<ChunkInput[]> {
  const out: ChunkInput[] = [];
  switch (input.kind) {
    case 'range':
      for (let i = from; i < to; i++) {
        const offset = i * input.chunksize;
        const count = Math.min(input.chunksize, input.items - offset);
        out.push({
          kind: 'range',
          offset,
          count,
          start: input.start + offset * input.step,
          step: input.step,
        });
      }
      return out;
    case 'lines':
      for (let i = from; i < to; i++) {
        const start = i * input.chunkBytes;
        const end = Math.min(input.size, start + input.chunkBytes);
        out.push({
          kind: 'bytes',
          offset: 0,
          count: end - start,
          source: input.source,
          start,
          end,
          size: input.size,
        });
      }
      return out;
    case 'segments': {
      const slices = await readSegments(blobs, input, from, to);
      for (let i = from; i < to; i++) {
        const offset = i * input.chunksize;
        const count = Math.min(input.chunksize, input.items - offset);
        const slice = slices[i - from] as { offset: number; size: number };
        out.push({
          kind: 'items',
          offset,
          count,
          data: { enc: input.enc, blob: input.blob, size: slice.size, offset: slice.offset },
        });
      }
      return out;
    }
  }
}
