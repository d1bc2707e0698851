/**
 * The AWS context's primitives, assembled from one module per family, and the reviver that turns
 * their handles back into live primitives in a worker Lambda (or any process with the stack's
 * environment).
 */
import type { PrimitiveModule, Primitives } from '../../api/context.js';
import { ProtocolError } from '../../errors.js';
import { isShareable, markShareable, type Reviver } from '../../handles.js';
import { type AwsErrorsOptions, withAwsErrors } from '../sdk-errors.js';
import { barrier } from './barrier.js';
import { condition } from './condition.js';
import { connection } from './connection.js';
import type { AwsSyncEnv } from './env.js';
import { event } from './event.js';
import { locks } from './locks.js';
import { manager } from './manager.js';
import { queues } from './queues.js';
import { semaphores } from './semaphores.js';
import { sharedValues } from './shared-values.js';

const MODULES: readonly PrimitiveModule<AwsSyncEnv>[] = [
  locks,
  semaphores,
  event,
  condition,
  barrier,
  sharedValues,
  queues,
  connection,
  manager,
];

/** What a primitive is called in an `AwsError`'s operation: "the aws context's Lock". */
function nameOf(p: unknown): string {
  const name = (p as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return `the aws context's ${typeof name === 'string' ? name.replace(/^Aws/, '') : 'primitive'}`;
}

/**
 * The primitives' methods reach AWS directly: an SDK error (a refused connection, access denied,
 * throttling past the retries) reaches the caller or the task as an `AwsError`, the SDK's
 * error as `cause`, as the caller's stores' do. A primitive a method returns (a Manager's list)
 * is wrapped too.
 */
const WRAP: AwsErrorsOptions = {
  alsoWrap: (v) => (isShareable(v) ? nameOf(v) : undefined),
  // withLock(fn) and waitFor(predicate) rethrow what the caller's code threw, as it is.
  sdkOnly: true,
};

/** The primitives of the AWS context. */
export function awsPrimitives(env: AwsSyncEnv): Primitives {
  const made: Record<string, unknown> = Object.assign({}, ...MODULES.map((m) => m.make(env)));
  // Every primitive a factory returns carries the mark that makes it unserialisable outside the
  // argument walk (src/handles.ts), also those whose constructors do not set it themselves.
  for (const [name, f] of Object.entries(made)) {
    if (typeof f !== 'function') continue;
    made[name] = (...args: unknown[]) => {
      const p: unknown = f(...args);
      if (Array.isArray(p)) return p.map((x) => withAwsErrors(markShareable(x), nameOf(x), WRAP));
      return withAwsErrors(markShareable(p) as object, nameOf(p), WRAP);
    };
  }
  return made as unknown as Primitives;
}

/** A reviver of AWS handles on `env`; refuses other contexts' handles and unknown kinds. */
export function awsReviver(env: AwsSyncEnv): Reviver {
  return (handle) => {
    if (handle.ctx !== 'aws') {
      throw new ProtocolError(`A ${handle.kind} handle of the ${handle.ctx} context reached an AWS function`);
    }
    for (const m of MODULES) {
      const revive = m.revive[handle.kind];
      if (revive) {
        const p = markShareable(revive(handle, env));
        return withAwsErrors(p as object, nameOf(p), WRAP);
      }
    }
    throw new ProtocolError(`Unknown AWS primitive kind ${JSON.stringify(handle.kind)} in a handle`);
  };
}
