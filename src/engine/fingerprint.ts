/**
 * A submitted job's fingerprint: a digest of what decides its results (the task, the kind, the
 * reducer and its initial value, the input, the options that cut it into chunks, the flags). It is
 * stored with the job's plan when the job is created; a submit under an existing job id with
 * another fingerprint is refused (`JobConflictError`), so that a repeated id can never mix a second
 * input's chunks into the first job's results, while a retried submit of the same request stays
 * idempotent. Items in memory under an id the client drew for the request itself are not
 * digested: no other input can ever come under that id, and the digest would encode each item a
 * second time on the local hot path.
 */
import { createHash } from 'node:crypto';
import type { Data } from '../ports.js';
import { encodeItems } from './codec.js';
import type { CoordinatorRequest, JobInput } from './coordinator.js';

type Submit = Extract<CoordinatorRequest, { type: 'submit' }>;

/** Hex characters of a fingerprint kept in a blob key (64 bits: enough to tell two inputs apart). */
export const FINGERPRINT_TAG_CHARS = 16;

/** The digest of some bytes, in hex. */
export function digestBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The fingerprint of a submit request (hex SHA-256). A deadline or a retry's timing is not part of it. */
export function submitFingerprint(req: Submit): string {
  const described = {
    kind: req.kind,
    task: req.task,
    reducer: req.reducer ?? null,
    initial: req.initial ? dataDigest(req.initial) : null,
    input: inputDigest(req.input),
    chunksize: req.chunksize ?? null,
    // The default chunk size (or line range) follows the workers: a chunk i of another cut is another chunk.
    workers: req.chunksize === undefined ? req.workers : null,
    handles: req.handles ?? false,
    process: req.process ?? null,
  };
  return createHash('sha256').update(JSON.stringify(described)).digest('hex');
}

function dataDigest(d: Data): unknown {
  return 'bytes' in d
    ? { enc: d.enc, sha256: digestBytes(d.bytes) }
    : { enc: d.enc, blob: d.blob, size: d.size };
}

function inputDigest(input: JobInput): unknown {
  switch (input.kind) {
    case 'range':
      return { kind: 'range', start: input.start, stop: input.stop, step: input.step };
    case 'items':
      return { kind: 'items', data: dataDigest(input.data) };
    case 'values':
      // In-process only. Under an id the client drew for this request, no other input can come:
      // digesting it would encode every item once more than its chunks do (~12 ms per 1e6
      // numbers). Under a caller's id, digested as the same items would be on the wire.
      if (input.fresh) return { kind: 'values', fresh: true, items: input.items.length };
      return { kind: 'items', data: dataDigest(encodeItems(input.items, 0)) };
    case 'segments':
      // The caller names the blob by its content's digest (`inputBlobKey`): the key stands for the bytes.
      return input;
    case 'lines':
      return { kind: 'lines', source: input.source, chunkBytes: input.chunkBytes ?? null };
    case 'open':
      return { kind: 'open' };
  }
}
