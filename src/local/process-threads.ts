/**
 * The warm threads of the local context's processes, like CPython's forkserver: a process whose
 * task ended normally gives its one-thread pool back, and the next `Process.start()` takes it
 * instead of starting a thread (~50 ms). A thread is never reused after a crash or a
 * `terminate()`: those are destroyed, so a terminated process's thread cannot leak into another.
 *
 * Idle threads are unref'd (the pool unrefs a thread with nothing pending), so they never keep the
 * program alive; at most `maxIdle` are kept, each retired after `idleMs` without use.
 */
import { ThreadPool } from '../threads/pool.js';

/** Options of {@link ProcessThreads}. */
export interface ProcessThreadsOptions {
  /** The thread script (the bundled tasks module's entry). */
  readonly script: string;
  /** The arena every thread gets as `workerData.arena`. */
  readonly arena: SharedArrayBuffer;
  /** Idle threads kept at most; a thread given back beyond this ends. */
  readonly maxIdle: number;
  /** An idle thread ends after this many ms unused. */
  readonly idleMs: number;
}

interface Idle {
  readonly threads: ThreadPool;
  readonly timer: NodeJS.Timeout;
}

/** A cache of idle one-thread pools for one tasks script; see the module comment. */
export class ProcessThreads {
  readonly #opts: ProcessThreadsOptions;
  /** Idle pools, the most recently used last (taken first: its thread is the warmest). */
  readonly #idle: Idle[] = [];
  #spared = false;

  constructor(options: ProcessThreadsOptions) {
    this.#opts = options;
  }

  /** Idle pools now (tests look). */
  get idle(): number {
    return this.#idle.length;
  }

  /**
   * A one-thread pool for a process: an idle one, or a new one named `name` (the name a thread
   * has is cosmetic: the task learns its process name from the chunk). The first cold start also
   * starts one spare thread, so that a second process started soon after finds it warm. Await
   * the pool's `ready()` before use; it may still be starting.
   */
  take(name: string): ThreadPool {
    for (let idle = this.#idle.pop(); idle; idle = this.#idle.pop()) {
      clearTimeout(idle.timer);
      // A thread that died while idle (code an earlier process left behind threw, or exited) was
      // replaced by its pool, but that pool has seen a crash: end it rather than hand it out.
      if (idle.threads.stats.crashed === 0) return idle.threads;
      void idle.threads.destroy().catch(() => {});
    }
    const threads = this.#start(name);
    if (!this.#spared && this.#opts.maxIdle > 0) {
      this.#spared = true;
      this.#keep(this.#start('fanfold-process'));
    }
    return threads;
  }

  /**
   * Gives back the pool of a process whose task ended normally (with a result or a thrown
   * error, never a crash): kept idle if there is room, else closed.
   */
  give(threads: ThreadPool): void {
    if (this.#idle.length >= this.#opts.maxIdle) {
      void threads.close().catch(() => {});
      return;
    }
    this.#keep(threads);
  }

  /** Ends every idle thread now. */
  async clear(): Promise<void> {
    const all = this.#idle.splice(0);
    for (const i of all) clearTimeout(i.timer);
    await Promise.all(all.map((i) => i.threads.destroy().catch(() => {})));
  }

  #start(name: string): ThreadPool {
    return new ThreadPool({
      size: 1,
      script: this.#opts.script,
      name,
      numbered: false,
      arena: this.#opts.arena,
    });
  }

  #keep(threads: ThreadPool): void {
    const idle: Idle = {
      threads,
      // Unref'd: an idle thread is not worth keeping the program alive for.
      timer: setTimeout(() => this.#drop(idle, true), this.#opts.idleMs).unref(),
    };
    this.#idle.push(idle);
    // A spare that cannot start (or an idle thread whose pool broke) must not be handed out.
    threads.ready().catch(() => this.#drop(idle, false));
  }

  #drop(idle: Idle, graceful: boolean): void {
    const i = this.#idle.indexOf(idle);
    if (i < 0) return;
    this.#idle.splice(i, 1);
    clearTimeout(idle.timer);
    void (graceful ? idle.threads.close() : idle.threads.destroy()).catch(() => {});
  }
}
