/**
 * The `aws` context's check that the stack runs the caller's tasks: at the first pool or process
 * of a context, the caller's tasks module is fingerprinted (`tasks-fingerprint.ts`) and compared
 * with the fingerprint the stack was deployed with. A mismatch is a {@link TasksMismatchError}
 * unless the caller allowed it (`allowTasksMismatch`).
 */
import type { TaskRegistry } from '../api/tasks.js';
import { TasksMismatchError, TasksModuleError } from '../errors.js';
import type { StackResources } from './invoke.js';
import type { Settings } from './settings.js';
import { tasksFingerprint } from './tasks-fingerprint.js';

/**
 * Resolves when the stack's deployed tasks are the caller's, or when there is nothing to compare
 * (no fingerprint deployed: a stack older than fingerprints, or `resources` without one) or the
 * caller allowed a mismatch; rejects with {@link TasksMismatchError} otherwise, and with
 * {@link TasksModuleError} when the caller's tasks module cannot be found or bundled.
 */
export async function checkDeployedTasks(
  registry: TaskRegistry,
  resources: StackResources,
  s: Pick<Settings, 'stack' | 'allowTasksMismatch'>,
): Promise<void> {
  const deployed = resources.tasksFingerprint;
  if (s.allowTasksMismatch || deployed === undefined) return;
  const skip = 'or pass allowTasksMismatch: true to aws() to skip the check';
  if (!registry.module)
    throw new TasksModuleError(
      `Could not tell which file defines the tasks, to compare it with the deployed stack's: pass defineTasks(tasks, { module: import.meta.url }), ${skip}`,
    );
  let local: string;
  try {
    local = await tasksFingerprint(registry.module);
  } catch (e) {
    throw new TasksModuleError(
      `Could not bundle the tasks module ${registry.module} to compare it with the deployed stack's (${(e as Error).message}); ${skip}`,
      e,
    );
  }
  if (local !== deployed)
    throw new TasksMismatchError(s.stack ?? 'options.resources', registry.module, deployed, local);
}
