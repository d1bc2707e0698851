/**
 * Wires one local pool: the in-memory backend (queue with dead letters, job store, blobs), a
 * worker-thread pool running the bundled tasks module, one host consuming the queue, the
 * dead-letter handler, and the job client the Pool facade calls.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PoolRuntime } from '../api/pool.js';
import type { TaskRegistry } from '../api/tasks.js';
import { JobClient } from '../engine/client.js';
import { Coordinator } from '../engine/coordinator.js';
import { DeadLetterHandler } from '../engine/dead-letters.js';
import { handleFailedInvocation } from '../engine/failed-invocations.js';
import { type FaultPlan, Host } from '../engine/host.js';
import { parseCoordinatorRequest } from '../engine/requests.js';
import type { StragglerPolicy } from '../engine/stragglers.js';
import { TasksModuleError } from '../errors.js';
import { ThreadExecutor } from '../threads/executor.js';
import { ThreadPool } from '../threads/pool.js';
import type { ThreadData } from '../threads/serve-tasks.js';
import { bundle } from './bundle.js';
import { DirectCalls } from './direct-call.js';
import { LocalInvoker } from './invoker.js';
import { type MemoryBackend, type MemoryBackendOptions, memoryBackend } from './memory-backend.js';
import { arena } from './sync/arena.js';

/** Resolved settings of a local pool. */
export interface LocalRuntimeSettings {
  readonly registry: TaskRegistry;
  readonly processes: number;
  readonly chunksize: number | undefined;
  readonly maxTasksPerChild: number | undefined;
  readonly initializer: string | undefined;
  readonly initargs: readonly unknown[];
  readonly jobTimeoutMs: number;
  readonly maxAttempts: number;
  /** Backups of straggling chunks; none when undefined. */
  readonly stragglers?: StragglerPolicy | undefined;
  readonly visibilityMs: number;
  readonly leaseMs: number;
  /** The file URL of a bundled application's thread entry (`local({ worker })`), if it has one. */
  readonly worker?: string | undefined;
  /** Test hooks: backend limits and fault injection. */
  readonly backend?: MemoryBackendOptions;
  readonly faults?: FaultPlan;
  readonly onError?: (e: unknown) => void;
}

/** The file of this module's sibling, as source (under vitest) or as built JavaScript. */
function sibling(name: string): string {
  for (const ext of ['.js', '.ts']) {
    const p = fileURLToPath(new URL(`./${name}${ext}`, import.meta.url));
    if (existsSync(p)) return p;
  }
  // Bundled into an application's file, fanfold has no files of its own to build threads from.
  throw new TasksModuleError(
    `fanfold's ${name} is not next to ${import.meta.url}: where fanfold is bundled into an application, ` +
      "give the threads an entry of their own: local({ tasks, worker }), the worker file calling serveTasks(tasks) from 'fanfold/worker'",
  );
}

/** Bundles the thread entry: fanfold's thread runtime plus the user's tasks module. */
export async function threadScript(registry: TaskRegistry): Promise<string> {
  if (!registry.module) {
    throw new TasksModuleError(
      'Could not tell which file defines the tasks: pass defineTasks(tasks, { module: import.meta.url })',
    );
  }
  const tasksPath = fileURLToPath(registry.module);
  const contents =
    `import registry from ${JSON.stringify(tasksPath)};\n` +
    `import { serveLocalTasks } from ${JSON.stringify(sibling('thread-entry'))};\n` +
    'serveLocalTasks(registry);\n';
  return bundle({ contents, resolveDir: dirname(tasksPath), name: 'thread' });
}

/**
 * The script every local thread runs: the bundled thread entry (or a bundled application's own,
 * `worker`), behind a `data:` module that enables source maps before it loads, so that remote
 * stacks name the user's .ts files.
 */
export async function threadEntry(registry: TaskRegistry, worker?: string): Promise<string> {
  const url = worker ?? pathToFileURL(await threadScript(registry)).href;
  return `data:text/javascript,process.setSourceMapsEnabled(true);await import(${JSON.stringify(url)});`;
}

/** A running local pool's engine. */
export class LocalRuntime implements PoolRuntime {
  readonly client: JobClient;
  readonly processes: number;
  readonly taskNames: readonly string[];
  readonly chunksize: number | undefined;
  readonly backend: MemoryBackend;
  /** Runs the coordinator's own asynchronous requests (the fan-out tree of a large job) in process. */
  readonly invoker: LocalInvoker;
  #host: Host | undefined;
  #threads: ThreadPool | undefined;
  readonly #dlq: DeadLetterHandler;
  readonly #direct: DirectCalls;
  readonly #ready: Promise<void>;
  #closing = false;

  constructor(s: LocalRuntimeSettings) {
    this.processes = s.processes;
    this.taskNames = s.registry.names;
    this.chunksize = s.chunksize;
    this.backend = memoryBackend({
      visibilityMs: s.visibilityMs,
      maxReceiveCount: s.maxAttempts,
      ...s.backend,
    });
    const onError = s.onError ?? (() => {});
    this.invoker = new LocalInvoker({
      coordinator: (req) => coordinator.handle(parseCoordinatorRequest(req)),
      onFailure: async (failed) => {
        const ended = await handleFailedInvocation(this.backend.store, failed, onError);
        if (ended) this.#host?.jobEnded(ended);
      },
      onError,
    });
    const coordinator = new Coordinator({ ...this.backend, invoker: this.invoker }, { onError });
    this.client = new JobClient({
      coordinator: (req) => coordinator.handle(req),
      store: this.backend.store,
      blobs: this.backend.blobs,
      processes: s.processes,
      jobTimeoutMs: s.jobTimeoutMs,
      window: s.processes * 8,
      stragglers: s.stragglers,
      onJobEnded: (id) => this.#host?.jobEnded(id),
      ...(s.onError ? { onError: s.onError } : {}),
    });
    this.#dlq = new DeadLetterHandler({
      backend: this.backend,
      maxReceiveCount: s.maxAttempts,
      onJobFailed: (id) => this.#host?.jobEnded(id),
      ...(s.onError ? { onError: s.onError } : {}),
    });
    this.#direct = new DirectCalls(() => this.#threads!, s.maxAttempts);
    this.#ready = this.#start(s);
    // Reported through ready(); never an unhandled rejection.
    this.#ready.catch(() => {});
  }

  async #start(s: LocalRuntimeSettings): Promise<void> {
    const script = await threadEntry(s.registry, s.worker);
    if (this.#closing) return;
    const data: ThreadData = s.initializer ? { initializer: s.initializer, initargs: s.initargs } : {};
    this.#threads = new ThreadPool({
      size: s.processes,
      script,
      data,
      arena: arena().sab,
      ...(s.maxTasksPerChild ? { maxTasksPerThread: s.maxTasksPerChild } : {}),
    });
    await this.#threads.ready();
    if (this.#closing) return;
    const executor = new ThreadExecutor(this.#threads, { batching: s.maxTasksPerChild === undefined });
    this.#host = new Host({
      backend: this.backend,
      executor,
      visibilityMs: s.visibilityMs,
      leaseMs: s.leaseMs,
      ...(s.faults ? { faults: s.faults } : {}),
      ...(s.onError ? { onError: s.onError } : {}),
    });
    this.#host.start();
    this.#dlq.start();
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  /** `apply` straight to the threads, without a job (see `direct-call.ts`). Call once ready. */
  apply(task: string, args: readonly unknown[]): Promise<unknown> {
    return this.#direct.call(task, args);
  }

  /** The host, once started (tests use it to inject crashes). */
  get host(): Host | undefined {
    return this.#host;
  }

  async shutdown(graceful: boolean): Promise<void> {
    this.#closing = true;
    this.invoker.close();
    // terminate() does not wait for threads that may never be ready (an initializer that waits for
    // ever): destroying them rejects their start. Before any thread exists, the start is the bundle
    // build, which stops once it sees #closing.
    if (graceful || this.#threads === undefined) await this.#ready.catch(() => {});
    if (graceful) await this.#host?.stop();
    else {
      this.#host?.kill();
      if (this.#threads) this.#direct.cancelAll('the pool was terminated');
    }
    await this.#dlq.stop();
    if (graceful) await this.#threads?.close();
    else await this.#threads?.destroy();
    // Releases run after each call returned; in memory each is one synchronous step.
    await this.client.settled();
    this.backend.close();
  }
}
