/**
 * The shape of a tasks module's functions, as the engine sees them: a map of names to functions.
 * It sits beside `ports.ts` because the engine runs tasks by name (`engine/run-chunk.ts`) and must
 * not reach up into `api/`; `api/tasks.ts` builds `defineTasks` and the call-site types on it.
 */

/** Any function a tasks module may export: sync or async, any arguments. */
// `never[]` makes every function assignable without resorting to `any`.
export type TaskFn = (...args: never[]) => unknown;

/** A map of task names to functions. */
export type TaskMap = Record<string, TaskFn>;
