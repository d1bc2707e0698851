/**
 * The coordinator Lambda: validates each invoke payload with `parseCoordinatorRequest`, checks the
 * task names against the bundled tasks module, and runs the engine's {@link Coordinator} on the AWS
 * adapters. `functions/coordinator.ts` is this factory applied to the bundled tasks.
 *
 * Payloads are JSON (Lambda parses the request and serialises the reply), with every `Uint8Array`
 * written as `{"$b64": "…"}`, the tagging SQS bodies use (`json-bytes.ts`).
 */
import type { TaskRegistry } from '../../api/tasks.js';
import { Coordinator, type CoordinatorRequest, type CoordinatorResponse } from '../../engine/coordinator.js';
import { parseCoordinatorRequest, requestedTasks } from '../../engine/requests.js';
import { FanfoldError, type SerializedError, serializeError, UnknownTaskError } from '../../errors.js';
import { fromJsonSafe, toJsonSafe } from '../json-bytes.js';
import { type ContainerOptions, containerBackend } from './container.js';

/** What the coordinator Lambda returns (before the `$b64` tagging). */
export type CoordinatorReply =
  | { readonly ok: true; readonly response: CoordinatorResponse }
  /** The request was refused (malformed, unknown task, a seal with another total…): the caller's fault. */
  | { readonly ok: false; readonly error: SerializedError };

/** Options of {@link createCoordinatorHandler}. */
export interface CoordinatorHandlerOptions extends ContainerOptions {
  /** The tasks module bundled into the function (workers run exactly these). */
  readonly tasks: TaskRegistry;
}

/** A coordinator Lambda handler. */
export type CoordinatorHandler = (event: unknown) => Promise<unknown>;

/**
 * Makes the coordinator handler. Nothing is created until the first invocation; then the
 * environment is read and the backend made once, for the container's life.
 *
 * Request errors (a {@link FanfoldError}: malformed, unknown task, refused by the store) are
 * returned as `{ ok: false, error }`; anything else (an AWS call that kept failing) is thrown, so
 * that Lambda counts the invocation as failed and the caller sees a function error.
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
  let coordinator: Coordinator | undefined;
  const get = (): Coordinator => {
    if (!coordinator) {
      const { backend } = containerBackend(options);
      coordinator = new Coordinator(backend);
    }
    return coordinator;
  };
  return async (event) => {
    let req: CoordinatorRequest;
    try {
      req = parseCoordinatorRequest(fromJsonSafe(event));
      for (const name of requestedTasks(req)) {
        // Only own names: a request must not reach Object.prototype through the task map.
        if (!Object.hasOwn(tasks.tasks, name)) throw new UnknownTaskError(name, tasks.names);
      }
    } catch (e) {
      return refuse(e);
    }
    // Not the request's fault: a missing variable is the deployment's, and is thrown.
    const c = get();
    try {
      return toJsonSafe({ ok: true, response: await c.handle(req) } satisfies CoordinatorReply);
    } catch (e) {
      return refuse(e);
    }
  };
}

/** A refused request as a reply; anything that is not a {@link FanfoldError} is rethrown. */
function refuse(e: unknown): unknown {
  if (!(e instanceof FanfoldError)) throw e;
  // The coordinator's stack says nothing useful to the caller.
  const { stack: _stack, ...error } = serializeError(e);
  return toJsonSafe({ ok: false, error } satisfies CoordinatorReply);
}
