/**
 * What a pool thread finishes before it leaves when its pool ends it gracefully (the `end` message
 * of `close()`, or of an idle thread retired): work that task code started and that must outlive
 * the task. A local queue's or pipe's feeder is one: a put resolves once its item is counted,
 * possibly while its bytes still wait in this thread's feeder for room in the ring, and a thread
 * that left at once would lose them. CPython's child process likewise joins its queues' feeder
 * threads (its exit finalizers) before it exits. Nothing else is waited for: timers and handles
 * that task code left behind do not hold the thread (CPython's worker leaves with `os._exit`).
 *
 * A crash or a `terminate()` runs no hook, as a killed CPython process runs no finalizer.
 */

/**
 * The hooks of this thread. A registered symbol on `globalThis`, so that two bundled copies of the
 * thread runtime (the user's `fanfold` and the one the thread entry serves with) share one list.
 */
const HOOKS: unique symbol = Symbol.for('fanfold.beforeThreadExit');

type Hook = () => Promise<void> | void;

function hooks(): Hook[] {
  const g = globalThis as { [HOOKS]?: Hook[] };
  g[HOOKS] ??= [];
  return g[HOOKS];
}

/**
 * Registers `hook` to run, and be awaited, when this thread is asked to end gracefully. A module
 * registers once per thread (module state is per thread); a hook that throws or rejects does not
 * keep the thread from leaving.
 */
export function beforeThreadExit(hook: Hook): void {
  hooks().push(hook);
}

/**
 * Runs every registered hook and resolves once all have settled; `undefined` when none is
 * registered, so that a thread with nothing to finish leaves at once.
 */
export function runThreadExitHooks(): Promise<void> | undefined {
  const all = hooks();
  if (all.length === 0) return undefined;
  return Promise.allSettled(all.map(async (hook) => hook())).then(() => undefined);
}
