/**
 * How a caller reaches a deployed fanfold stack: the coordinator Lambda, invoked synchronously
 * (RequestResponse) with a request that fits its 6 MB payload, and the stack's CloudFormation
 * outputs, which name the coordinator, the table and the bucket.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
import { type BackoffBounds, backoff } from '../backoff.js';
import { blobKeys } from '../engine/blob-keys.js';
import { decodeList, encodeItems } from '../engine/codec.js';
import type { CoordinatorRequest, CoordinatorResponse, JobInput } from '../engine/coordinator.js';
import { digestBytes, FINGERPRINT_TAG_CHARS } from '../engine/fingerprint.js';
import { defaultChunksize } from '../engine/plan.js';
import { encodeSegments } from '../engine/segments.js';
import {
  AwsError,
  CoordinatorFailedError,
  ErrorCodes,
  FanfoldError,
  InvalidArgumentError,
  JobConflictError,
  PayloadTooLargeError,
  ProtocolError,
  type SerializedError,
  StackNotFoundError,
  TasksModuleError,
} from '../errors.js';
import type { BlobStore, Data } from '../ports.js';
import { parseWithBytes, stringifyWithBytes } from './json-bytes.js';
import type { CoordinatorReply } from './lambda/coordinator.js';
import { TASKS_FINGERPRINT_OUTPUT } from './tasks-fingerprint.js';

/**
 * The largest request payload sent inline. Lambda takes 6 MB synchronously; the rest is headroom
 * for the JSON around the base64 (which is already counted: this is the serialised size).
 */
export const MAX_INVOKE_PAYLOAD_BYTES = 5_000_000;

/** Options of {@link coordinatorInvoker}. */
export interface CoordinatorInvokerOptions {
  readonly client: LambdaClient;
  /** The coordinator function's name or ARN. */
  readonly functionName: string;
  /** Where inputs too large to be sent inline are put first (the stack's bucket). */
  readonly blobs: BlobStore;
  /** A request serialised larger than this sends its inputs by blob reference. @default 5_000_000 */
  readonly maxPayloadBytes?: number;
  /**
   * Attempts of a request whose invocation failed (the function crashed, timed out or threw): every
   * request is idempotent, so it is sent again, after a backoff. @default 3
   */
  readonly maxAttempts?: number;
  /** Backoff between those attempts, in ms. @default { min: 200, max: 2_000 } */
  readonly retryBackoff?: BackoffBounds;
}

/**
 * The blob key of a submitted job's whole input, under the job's prefix (deleted on release),
 * named by the digest of its bytes: a second submit under the same job id with another input puts
 * another blob, and the coordinator's fingerprint (which covers the key) tells the two apart.
 */
export function inputBlobKey(jobId: string, bytes: Uint8Array): string {
  return blobKeys.submitted(jobId, digestBytes(bytes).slice(0, FINGERPRINT_TAG_CHARS));
}

/**
 * A `coordinator` function for `JobClient` that invokes the coordinator Lambda. In-memory inputs
 * (`values`) are encoded into an `items` input; a submit whose payload would be over
 * `maxPayloadBytes` plans its chunks here (CPython's chunk size, as the coordinator would) and
 * puts them in the blob store as segments (`engine/segments.ts`: each chunk encoded on its own,
 * one blob with an index), so that no coordinator invocation ever reads the whole input and each
 * worker reads only its chunk; an append's large chunks go by reference. Every request is
 * idempotent (a submit by job id, an append by chunk index), so the SDK's retries of throttled
 * invokes are safe.
 *
 * @example
 * ```ts
 * const coordinator = coordinatorInvoker({ client: new LambdaClient({}), functionName, blobs });
 * const client = new JobClient({ coordinator, store, blobs, processes: 1000, jobTimeoutMs, window: 64 });
 * ```
 */
export function coordinatorInvoker(
  options: CoordinatorInvokerOptions,
): (req: CoordinatorRequest) => Promise<CoordinatorResponse> {
  const { client, functionName, blobs, maxPayloadBytes = MAX_INVOKE_PAYLOAD_BYTES } = options;
  const maxAttempts = options.maxAttempts ?? 3;
  const bounds = options.retryBackoff ?? { min: 200, max: 2_000 };
  return async (req) => {
    let wire = wireRequest(req);
    let payload = stringifyWithBytes(wire);
    if (Buffer.byteLength(payload) > maxPayloadBytes) {
      wire = await spillRequest(req, blobs);
      payload = stringifyWithBytes(wire);
      const bytes = Buffer.byteLength(payload);
      if (bytes > maxPayloadBytes)
        throw new PayloadTooLargeError(`The ${req.type} request of job ${req.jobId}`, bytes, maxPayloadBytes);
    }
    const command = new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: Buffer.from(payload),
    });
    for (let attempt = 1; ; attempt++) {
      let out: InvokeCommandOutput;
      try {
        out = await client.send(command);
      } catch (e) {
        // The SDK retried what it could (throttling, 5xx): the rest is not the coordinator's answer.
        throw new AwsError(
          `invoking the coordinator ${functionName} with the ${req.type} request of job ${req.jobId}`,
          e,
        );
      }
      const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
      if (!out.FunctionError) return readReply(functionName, text, req.jobId);
      // A crash, a timeout or an AWS call that kept failing in the function: every request is
      // idempotent (a submit by job id and fingerprint, an append by chunk index), so send it again.
      const failed = functionError(functionName, out.FunctionError, text);
      if (attempt >= maxAttempts || !(await backoff(attempt - 1, bounds)))
        throw new CoordinatorFailedError(req.jobId, req.type, attempt, failed);
    }
  };
}

/** The request as it may travel: in-memory items encoded (the encoding names an unserialisable item). */
function wireRequest(req: CoordinatorRequest): CoordinatorRequest {
  if (req.type !== 'submit' || req.input.kind !== 'values') return req;
  return { ...req, input: { kind: 'items', data: encodeItems(req.input.items, 0) } };
}

/** The request with its input bytes (a submit's items as segments, an append's or a backup's chunks) in the blob store. */
async function spillRequest(req: CoordinatorRequest, blobs: BlobStore): Promise<CoordinatorRequest> {
  const put = async (data: Data, key: string): Promise<Data> => {
    if (!('bytes' in data)) return data;
    await blobs.put(key, data.bytes);
    return { enc: data.enc, blob: key, size: data.bytes.byteLength };
  };
  if (req.type === 'submit') {
    const items = inlineItems(req.input);
    if (!items) return req;
    const chunksize = req.chunksize ?? defaultChunksize(items.length, req.workers);
    const encoded = encodeSegments(items, chunksize, '');
    const layout = { ...encoded.layout, blob: inputBlobKey(req.jobId, encoded.bytes) };
    await blobs.put(layout.blob, encoded.bytes);
    const segments: JobInput = { kind: 'segments', ...layout };
    return { ...req, input: segments };
  }
  if (req.type === 'append') {
    const chunks = await Promise.all(
      req.chunks.map(async (c, k) => ({
        count: c.count,
        // The key the coordinator itself would spill this chunk to.
        data: await put(c.data, blobKeys.input(req.jobId, req.firstIndex + k)),
      })),
    );
    return { ...req, chunks };
  }
  if (req.type === 'backup' && req.inputs) {
    const inputs = await Promise.all(
      req.inputs.map(async (input, k) =>
        input.kind === 'items'
          ? { ...input, data: await put(input.data, blobKeys.input(req.jobId, req.indices[k]!)) }
          : input,
      ),
    );
    return { ...req, inputs };
  }
  return req;
}

/** The items a submit carries in its request, if it does. */
function inlineItems(input: JobInput): readonly unknown[] | undefined {
  if (input.kind === 'values') return input.items;
  if (input.kind === 'items' && 'bytes' in input.data) return Array.from(decodeList(input.data));
  return undefined;
}

function readReply(functionName: string, text: string, jobId: string): CoordinatorResponse {
  let reply: CoordinatorReply;
  try {
    reply = parseWithBytes(text) as CoordinatorReply;
  } catch {
    throw new ProtocolError(`The coordinator ${functionName} returned a payload that is not JSON`);
  }
  if (reply?.ok === true && typeof reply.response === 'object' && reply.response !== null)
    return reply.response;
  if (reply?.ok === false && typeof reply.error === 'object' && reply.error !== null)
    throw remoteError(reply.error, jobId);
  throw new ProtocolError(`The coordinator ${functionName} returned an unexpected reply`);
}

/** The refused request's error, as the class it was thrown as where that class takes a message. */
function remoteError(e: SerializedError, jobId: string): FanfoldError {
  const message = `The coordinator refused the request: ${e.message}`;
  switch (e.code) {
    case ErrorCodes.PROTOCOL:
      return new ProtocolError(message);
    case ErrorCodes.INVALID_ARGUMENT:
      return new InvalidArgumentError(message);
    case ErrorCodes.JOB_CONFLICT:
      return new JobConflictError(jobId);
    case ErrorCodes.UNKNOWN_TASK:
      // The caller checked the name against its own tasks module: the deployed one differs.
      return new TasksModuleError(`${message} (is the deployed stack's tasks module out of date?)`);
    default: {
      const err = new FanfoldError(
        (Object.values(ErrorCodes) as string[]).includes(e.code ?? '')
          ? (e.code as FanfoldError['code'])
          : ErrorCodes.PROTOCOL,
        message,
      );
      err.name = e.name;
      return err;
    }
  }
}

/**
 * An error the coordinator function threw (Lambda's `{ errorType, errorMessage, trace }` payload),
 * named by its `errorType` (`Runtime.ExitError`, `Sandbox.Timedout`…): the cause of a
 * {@link CoordinatorFailedError}.
 */
function functionError(functionName: string, kind: string, text: string): Error {
  let type = 'Error';
  let detail = text;
  try {
    const p = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    type = String(p.errorType ?? 'Error');
    detail = `${type}: ${String(p.errorMessage ?? '')}`;
  } catch {
    // Not JSON (a timeout's payload can be plain text): report it as it came.
  }
  const e = new Error(`${functionName} failed (${kind}): ${detail}`);
  e.name = type;
  return e;
}

/** The outputs a `Fanfold` construct adds to its stack, by the logical id the construct gives them. */
export const STACK_OUTPUTS = {
  /** The coordinator function's name. */
  coordinator: 'FanfoldCoordinatorFunction',
  /** The job table's name. */
  table: 'FanfoldTable',
  /** The payload bucket's name. */
  bucket: 'FanfoldBucket',
  /** Parallel workers the stack runs (`FANFOLD_WORKERS`): the default `processes`. */
  workers: 'FanfoldWorkers',
  /** Name prefix of the SQS queues the primitives make (optional: older stacks lack it). */
  queuePrefix: 'FanfoldQueuePrefix',
  /** The fingerprint of the tasks module the stack was deployed with (optional: older stacks lack it). */
  tasksFingerprint: TASKS_FINGERPRINT_OUTPUT,
} as const;

/** The resources of a deployed stack. */
export interface StackResources {
  readonly coordinator: string;
  readonly table: string;
  readonly bucket: string;
  readonly workers: number | undefined;
  /** Name prefix of the primitives' SQS queues, when the stack says. */
  readonly queuePrefix?: string | undefined;
  /** The fingerprint of the deployed tasks module, when the stack says (`tasks-fingerprint.ts`). */
  readonly tasksFingerprint?: string | undefined;
}

/**
 * Reads a stack's outputs with DescribeStacks. An output matches when its key is the
 * {@link STACK_OUTPUTS} name, or that name followed by CDK's 8-character hash (a `CfnOutput` whose
 * logical id was not overridden). Throws {@link InvalidArgumentError} naming what is missing.
 */
export async function readStackOutputs(client: CloudFormationClient, stack: string): Promise<StackResources> {
  let outputs: { OutputKey?: string | undefined; OutputValue?: string | undefined }[];
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stack }));
    outputs = out.Stacks?.[0]?.Outputs ?? [];
  } catch (e) {
    if ((e as { name?: string }).name === 'ValidationError')
      throw new StackNotFoundError(stack, (e as Error).message);
    throw e;
  }
  const find = (name: string): string | undefined => {
    const exact = outputs.find((o) => o.OutputKey === name);
    if (exact) return exact.OutputValue;
    const re = new RegExp(`^${name}[0-9A-F]{8}$`);
    const hashed = outputs.filter((o) => o.OutputKey !== undefined && re.test(o.OutputKey));
    if (hashed.length > 1)
      throw new InvalidArgumentError(
        `options.stack: stack "${stack}" has ${hashed.length} ${name} outputs (several Fanfold constructs?); pass options.resources`,
      );
    return hashed[0]?.OutputValue;
  };
  const coordinator = find(STACK_OUTPUTS.coordinator);
  const table = find(STACK_OUTPUTS.table);
  const bucket = find(STACK_OUTPUTS.bucket);
  const workers = find(STACK_OUTPUTS.workers);
  const queuePrefix = find(STACK_OUTPUTS.queuePrefix);
  const tasksFingerprint = find(STACK_OUTPUTS.tasksFingerprint);
  const missing = (['coordinator', 'table', 'bucket'] as const)
    .filter((k) => !{ coordinator, table, bucket }[k])
    .map((k) => STACK_OUTPUTS[k]);
  if (missing.length > 0 || !coordinator || !table || !bucket)
    throw new InvalidArgumentError(
      `options.stack: stack "${stack}" has no output ${missing.join(', ')} (found: ${outputs.map((o) => o.OutputKey).join(', ') || 'none'})`,
    );
  const n = workers === undefined ? undefined : Number(workers);
  return {
    coordinator,
    table,
    bucket,
    workers: n !== undefined && Number.isSafeInteger(n) && n >= 1 ? n : undefined,
    ...(queuePrefix ? { queuePrefix } : {}),
    ...(tasksFingerprint ? { tasksFingerprint } : {}),
  };
}

/** A CloudFormation client in `region`; exported for the context. */
export function createCloudFormationClient(region: string | undefined): CloudFormationClient {
  return new CloudFormationClient(region === undefined ? {} : { region });
}
