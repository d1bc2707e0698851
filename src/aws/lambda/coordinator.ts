/**
 * The coordinator Lambda: validates each invoke payload with `parseCoordinatorRequest`, checks the
 * task names against the bundled tasks module, and runs the engine's {@link Coordinator} on the AWS
 * adapters. `functions/coordinator.ts` is this factory applied to the bundled tasks.
 *
 * Payloads are JSON (Lambda parses the request and serialises the reply), with every `Uint8Array`
 * written as `{"$b64": "…"}`, the tagging SQS bodies use (`json-bytes.ts`).
 *
 * The caller invokes it synchronously (submit, append, seal, cancel, expire, release); it invokes
 * itself asynchronously with `fanout` requests, the fan-out tree's further nodes (`engine/fanout.ts`).
 * Each invocation sends chunks within a budget taken from its remaining time (less a margin, or
 * `FANFOLD_FANOUT_BUDGET_MS`), and hands the rest on.
 */
import type { TaskRegistry } from '../../api/tasks.js';
import { Coordinator, type CoordinatorRequest, type CoordinatorResponse } from '../../engine/coordinator.js';
import type { Invocation } from '../../engine/fanout.js';
import { parseCoordinatorRequest, requestedTasks } from '../../engine/requests.js';
import { FanfoldError, type SerializedError, serializeError, UnknownTaskError } from '../../errors.js';
import type { Backend } from '../../ports.js';
import { createLambdaClient } from '../clients.js';
import { fromJsonSafe, toJsonSafe } from '../json-bytes.js';
import { LambdaInvoker } from '../lambda-invoker.js';
import { asFanfoldError } from '../sdk-errors.js';
import { type ContainerOptions, containerBackend } from './container.js';
import { readFanoutEnv } from './env.js';
import { type LambdaContextInfo, type Observer, observedStore, observer } from './observe.js';

/** What the coordinator Lambda returns (before the `$b64` tagging). */
export type CoordinatorReply =
  | { readonly ok: true; readonly response: CoordinatorResponse }
  /** The request was refused (malformed, unknown task, a seal with another total…): the caller's fault. */
  | { readonly ok: false; readonly error: SerializedError };

/** Options of {@link createCoordinatorHandler}. */
export interface CoordinatorHandlerOptions extends ContainerOptions {
  /** The tasks module bundled into the function (workers run exactly these). */
  readonly tasks: TaskRegistry;
  /** Told about what fails without failing a request (a drain worker not fired). @default an ERROR line of the function's logger */
  readonly onError?: (error: unknown) => void;
}

/** What Lambda passes a handler besides the event (the part of its context the coordinator reads). */
export type CoordinatorContext = LambdaContextInfo;

/** A coordinator Lambda handler. */
export type CoordinatorHandler = (event: unknown, context?: CoordinatorContext) => Promise<unknown>;

/** SendMessageBatch calls in flight while the coordinator sends a group of chunks. */
const SEND_CONCURRENCY = 16;

/**
 * The time an invocation with `remainingMs` left spends sending chunks: all of it but a margin
 * (a fifth, between 1 and 10 s, for the last group's overrun and handing the rest on), and never
 * more than `overrideMs`.
 */
export function sendingBudget(remainingMs: number, overrideMs?: number): number {
  const margin = Math.min(10_000, Math.max(1_000, remainingMs / 5));
  return Math.max(0, Math.min(overrideMs ?? Number.POSITIVE_INFINITY, remainingMs - margin));
}

/**
 * Makes the coordinator handler. Nothing is created until the first invocation; then the
 * environment is read and the backend made once, for the container's life.
 *
 * A caller's request errors (a {@link FanfoldError}: malformed, unknown task, refused by the store)
 * are returned as `{ ok: false, error }`; anything else (an AWS call that kept failing) is thrown,
 * so that Lambda counts the invocation as failed and the caller sees a function error. A `fanout`
 * request has no caller waiting: every error is thrown, so that Lambda retries the invocation and
 * at last hands it to the on-failure destination, which fails the job.
 *
 * @example
 * ```ts
 * // functions/coordinator.ts
 * import tasks from '@fanfold/tasks';
 * export const handler = createCoordinatorHandler({ tasks });
 * ```
 */
export function createCoordinatorHandler(options: CoordinatorHandlerOptions): CoordinatorHandler {
  const { tasks } = options;
  let obs: Observer | undefined;
  const observe = () => (obs ??= observer(options.env ?? process.env));
  const onError = options.onError ?? ((e: unknown) => observe().error('coordinator error', e));
  let made: { readonly coordinator: Coordinator; readonly budgetMs: number | undefined } | undefined;
  const get = () => {
    if (!made) {
      const fan = readFanoutEnv(options.env ?? process.env);
      const own = containerBackend(options, { sendConcurrency: SEND_CONCURRENCY });
      // A job it fails (expired, a fan-out that failed for good) is logged and counted.
      const backend = { ...own.backend, store: observedStore(own.backend.store, observe()) };
      made = {
        coordinator: new Coordinator(withInvoker(backend, options, fan), {
          onError,
          ...(fan.leafChunks === undefined ? {} : { leafChunks: fan.leafChunks }),
          ...(fan.workerBurst === undefined ? {} : { workerBurst: fan.workerBurst }),
        }),
        budgetMs: fan.budgetMs,
      };
    }
    return made;
  };
  return async (event, context) => {
    const started = Date.now();
    const o = observe();
    o.begin(context);
    try {
      return await handle(event, context, started, o);
    } finally {
      o.end();
    }
  };

  async function handle(
    event: unknown,
    context: CoordinatorContext | undefined,
    started: number,
    o: Observer,
  ) {
    const raw = fromJsonSafe(event);
    const noCaller = (raw as { type?: unknown } | null)?.type === 'fanout';
    let req: CoordinatorRequest;
    try {
      req = parseCoordinatorRequest(raw);
      for (const name of requestedTasks(req)) {
        // Only own names: a request must not reach Object.prototype through the task map.
        if (!Object.hasOwn(tasks.tasks, name)) throw new UnknownTaskError(name, tasks.names);
      }
    } catch (e) {
      o.logger.warn('request refused', { jobId: jobIdOf(raw), error: serializeError(e) });
      if (noCaller) throw e;
      return refuse(e);
    }
    o.logger.info('request', { type: req.type, jobId: req.jobId });
    // Not the request's fault: a missing variable is the deployment's, and is thrown.
    const { coordinator, budgetMs } = get();
    const remaining = context?.getRemainingTimeInMillis();
    const invocation: Invocation =
      remaining === undefined ? {} : { deadline: started + sendingBudget(remaining, budgetMs) };
    try {
      return toJsonSafe({
        ok: true,
        response: await coordinator.handle(req, invocation),
      } satisfies CoordinatorReply);
    } catch (e) {
      o.logger.warn('request failed', { type: req.type, jobId: req.jobId, error: serializeError(e) });
      if (noCaller || !(e instanceof FanfoldError))
        // Thrown, so that Lambda retries or the caller resubmits; an SDK error as an AwsError that
        // says what the coordinator was doing (its name and message are the function error's).
        throw asFanfoldError(`the coordinator handling the ${req.type} request of job ${req.jobId}`, e);
      return refuse(e);
    }
  }
}

/** The job id a request names, if it names one (for the log line of a refused request). */
function jobIdOf(raw: unknown): string | undefined {
  const id = (raw as { jobId?: unknown } | null)?.jobId;
  return typeof id === 'string' && id.length <= 128 ? id : undefined;
}

/**
 * The backend with the invoker the coordinator fans out through: an injected backend's own (tests),
 * else Lambda's, invoking this function (its name as Lambda sets it) and the worker.
 */
function withInvoker(
  backend: Backend,
  options: ContainerOptions,
  fan: ReturnType<typeof readFanoutEnv>,
): Backend {
  if (options.backend || backend.invoker || fan.self === undefined) return backend;
  const invoker = new LambdaInvoker({
    client: createLambdaClient(),
    coordinator: fan.self,
    worker: fan.workerFunction,
  });
  return { ...backend, invoker };
}

/** A refused request as a reply; anything that is not a {@link FanfoldError} is rethrown. */
function refuse(e: unknown): unknown {
  if (!(e instanceof FanfoldError)) throw e;
  // The coordinator's stack says nothing useful to the caller.
  const { stack: _stack, ...error } = serializeError(e);
  return toJsonSafe({ ok: false, error } satisfies CoordinatorReply);
}
