/**
 * The local context's side of its worker threads: what the generated thread entry calls (see
 * `threadScript` in `runtime.ts`), with the reviver of local handles injected. The primitives'
 * code is most of a thread bundle, and a thread pays for every byte it loads (parsing it,
 * decoding its inline source map): behind this `import()` it is a chunk of its own (see
 * `bundle.ts`) that only a thread receiving a handle loads. The arena the handles name is the one
 * the pool sent each thread (`arena()` adopts it on first use).
 */
import type { Reviver } from '../handles.js';
import { serveTasks } from '../threads/serve-tasks.js';

/** The local reviver, loaded on first use. */
async function loadLocalReviver(): Promise<Reviver> {
  return (await import('./sync/index.js')).reviveLocal;
}

/** Serves the registry's tasks in a local pool or process thread, reviving local handles. */
export function serveLocalTasks(registry: unknown): void {
  serveTasks(registry, { reviver: loadLocalReviver });
}
