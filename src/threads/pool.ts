/**
 * A lean worker-thread pool, the one the local context and the worker Lambda both run chunks on: a
 * FIFO queue, several tasks in flight per thread, CPython's `maxtasksperchild` and `initializer`,
 * cancellation by tag, and crash recovery.
 *
 * Lifetime: threads start in the constructor. While no task is queued or in flight the threads are
 * unref'd, so a forgotten open pool does not keep the process alive (CPython's pool does not block
 * exit either); they are ref'd while work is pending, while they start, and while they exit after
 * `close()`/`destroy()`, so awaiting `ready()`, `run()` or `close()` at top level never stops early.
 *
 * @example
 * ```ts
 * const pool = new ThreadPool({ size: 4, script: new URL('./square.thread.js', import.meta.url) });
 * await pool.ready();
 * const squares = await Promise.all([1, 2, 3].map((x) => pool.run<number>(x)));
 * await pool.close();
 * ```
 */

import { Deque } from '../deque.js';
import {
  ErrorCodes,
  type FanfoldError,
  InvalidArgumentError,
  JobCancelledError,
  NotSerializableError,
  PoolNotRunningError,
  TaskError,
  TasksModuleError,
  WorkerCrashedError,
} from '../errors.js';
import { type FromThreadMessage, parseFromThread } from './messages.js';
import {
  type ResolvedPoolOptions,
  type RunOptions,
  resolvePoolOptions,
  resolveRunOptions,
  type ThreadPoolOptions,
} from './pool-options.js';
import { Slot, type Task } from './slot.js';

export type { RunOptions, ThreadPoolOptions } from './pool-options.js';

/** Counters over the pool's life. */
export interface ThreadPoolStats {
  /** Tasks a thread answered, with a result or a thrown error. */
  readonly completed: number;
  /** Threads that died unexpectedly (uncaught exception, `process.exit`, protocol violation). */
  readonly crashed: number;
  /** Threads ended on purpose and replaced: `maxTasksPerThread` reached, or killed by `cancel()`. */
  readonly replaced: number;
}

type PoolState = 'running' | 'closing' | 'closed' | 'destroyed' | 'broken';

/** A pool of worker threads running one script; see the module comment. */
export class ThreadPool {
  readonly #opts: ResolvedPoolOptions;
  readonly #slots: Slot[] = [];
  /** Every slot whose thread has not emitted 'exit' yet. */
  readonly #alive = new Set<Slot>();
  readonly #queue = new Deque<Task>();
  #state: PoolState = 'running';
  #brokenBy: FanfoldError | undefined;
  /** Tasks queued or in flight: the threads are ref'd exactly when this is > 0. */
  #pending = 0;
  #nextId = 0;
  #nextIndex = 1;
  #stats = { completed: 0, crashed: 0, replaced: 0 };
  #initialWaiting: number;
  readonly #ready: Deferred;
  readonly #closed: Deferred;
  #idle: IdleListener | undefined;
  /** The idle listener is called at the end of this turn of the event loop. */
  #idleSoon: NodeJS.Immediate | undefined;

  /** Validates the options and starts the threads at once. Throws {@link InvalidArgumentError}. */
  constructor(options: ThreadPoolOptions) {
    this.#opts = resolvePoolOptions(options);
    this.#ready = deferred();
    this.#closed = deferred();
    this.#initialWaiting = this.#opts.size;
    for (let i = 0; i < this.#opts.size && this.#state === 'running'; i++) this.#spawn(true);
    // A Worker that cannot even be constructed (uncloneable data…) is an argument error: throw.
    if (this.#brokenBy !== undefined) throw this.#brokenBy;
  }

  /** Number of threads the pool keeps. */
  get size(): number {
    return this.#opts.size;
  }

  /** `threadId`s of the current threads (starting or ready). */
  get threadIds(): number[] {
    return this.#slots.map((s) => s.worker.threadId);
  }

  /** A snapshot of the pool's counters. */
  get stats(): ThreadPoolStats {
    return { ...this.#stats };
  }

  /**
   * Resolves once every initial thread has run its `init` and reported ready. Rejects with a
   * {@link TaskError} (the remote error) if an `init` threw, with {@link WorkerCrashedError} if a
   * thread died while starting, or with {@link PoolNotRunningError} after `destroy()`. A failed
   * start, of an initial or a replacement thread, breaks the pool: every pending task and later
   * `run()` rejects with the same error instead of respawning forever.
   */
  ready(): Promise<void> {
    return this.#ready.promise;
  }

  /**
   * Runs `body` on a thread and resolves with the handler's result. Rejects with
   * {@link TaskError} if the handler threw, {@link WorkerCrashedError} if its thread died,
   * {@link JobCancelledError} if its tag was cancelled, {@link NotSerializableError} if `body`
   * cannot be cloned, {@link PoolNotRunningError} after `close()`/`destroy()`.
   */
  run<R = unknown>(body: unknown, options?: RunOptions): Promise<R> {
    if (this.#state !== 'running') return Promise.reject(this.#notRunning('run'));
    let run: ReturnType<typeof resolveRunOptions>;
    try {
      run = resolveRunOptions(options);
    } catch (e) {
      return Promise.reject(e);
    }
    const task: Task = { id: this.#nextId++, body, ...run, resolve: noop, reject: noop };
    const promise = new Promise<R>((resolve, reject) => {
      task.resolve = resolve as (value: unknown) => void;
      task.reject = reject;
    });
    if (this.#pending++ === 0) this.#setRef(true);
    this.#queue.push(task);
    this.#pump();
    return promise;
  }

  /**
   * Has `listener.offer` called with the number of idle threads when, at the end of a turn of the
   * event loop, the queue is empty and at least one ready thread has nothing in flight, while
   * `listener.wanted()` says there is work to give (the executor's groups with chunks not started).
   * The end of the turn, so that tasks started together (a batch's groups) first go out one per
   * thread. Tasks that `offer` starts with {@link run} go to the idle threads. One listener; a
   * second call replaces it.
   */
  whenIdle(listener: IdleListener): void {
    this.#idle = listener;
  }

  /**
   * Cancels every task tagged `tag`: queued ones are dropped; threads running one are terminated
   * and replaced. Those tasks reject with {@link JobCancelledError} (`jobId` = the tag); other tasks
   * in flight on the terminated threads reject with {@link WorkerCrashedError}, to be redelivered.
   */
  cancel(tag: string): void {
    if (typeof tag !== 'string')
      throw new InvalidArgumentError(`Expected tag to be a string, got ${typeof tag}`);
    const cancelled = new JobCancelledError(tag);
    for (const task of this.#queue.removeWhere((t) => t.tag === tag)) this.#settle(task).reject(cancelled);
    for (const slot of [...this.#slots]) {
      if (!slot.runs(tag)) continue;
      this.#stats.replaced++;
      const bystander = new WorkerCrashedError(`Thread ${slot.name} was terminated to cancel tag "${tag}"`);
      this.#lose(slot, (t) => (t.tag === tag ? cancelled : bystander));
      slot.terminate();
    }
  }

  /**
   * Stops accepting tasks (`run()` rejects with {@link PoolNotRunningError}); queued and in-flight
   * tasks finish, crashed threads are still replaced while tasks wait; then the threads exit.
   * Resolves once every thread has exited.
   */
  close(): Promise<void> {
    if (this.#state === 'running') {
      this.#state = 'closing';
      if (this.#pending === 0) this.#endAll();
    }
    return this.#closed.promise;
  }

  /** Terminates every thread now; pending tasks reject with `PoolNotRunningError('terminated')`. */
  destroy(): Promise<void> {
    if (this.#state !== 'destroyed' && this.#state !== 'broken') {
      this.#state = 'destroyed';
      this.#killAll(new PoolNotRunningError('terminated', 'run'));
      this.#ready.reject(new PoolNotRunningError('terminated', 'ready'));
    }
    this.#checkClosed();
    return this.#closed.promise;
  }

  #notRunning(method: string): Error {
    if (this.#state === 'broken' && this.#brokenBy !== undefined) return this.#brokenBy;
    return new PoolNotRunningError(this.#state === 'destroyed' ? 'terminated' : 'closed', method);
  }

  #spawn(initial: boolean): void {
    const index = this.#nextIndex++;
    const { script, data, arena, numbered } = this.#opts;
    const name = numbered ? `${this.#opts.name}-${index}` : this.#opts.name;
    let slot: Slot;
    try {
      slot = new Slot(
        { script, name, index, initial, data, arena },
        {
          message: (s, raw) => this.#onMessage(s, raw),
          messageError: (s, e) => this.#fault(s, e),
          exit: (s, code) => this.#onExit(s, code),
        },
      );
    } catch (e) {
      const notCloneable = e instanceof Error && e.name === 'DataCloneError';
      this.#break(
        notCloneable
          ? new NotSerializableError('options.data', undefined, e)
          : new WorkerCrashedError(`Thread ${name} could not be started`, undefined, e),
      );
      return;
    }
    this.#slots.push(slot);
    this.#alive.add(slot);
  }

  #onMessage(slot: Slot, raw: unknown): void {
    if (slot.state === 'gone') return;
    let msg: FromThreadMessage;
    try {
      msg = parseFromThread(raw);
    } catch (e) {
      this.#fault(slot, e);
      return;
    }
    switch (msg.type) {
      case 'progress': {
        const task = slot.inFlight.get(msg.id);
        if (task === undefined) this.#fault(slot, new Error(`Progress for unknown task id ${msg.id}`));
        else task.progress?.(msg.value);
        return;
      }
      case 'result':
      case 'error': {
        const task = slot.answered(msg.id);
        if (task === undefined) {
          this.#fault(slot, new Error(`Answer for unknown task id ${msg.id}`));
          return;
        }
        this.#stats.completed++;
        if (msg.type === 'result') this.#settle(task).resolve(msg.value);
        else this.#settle(task).reject(new TaskError(msg.error));
        // `ready` check: the settle above may have ended every thread (close() with nothing left).
        if (slot.spent(this.#opts.maxTasksPerThread)) {
          this.#stats.replaced++;
          this.#retire(slot);
          if (this.#wantsThreads()) this.#spawn(false);
        }
        this.#pump();
        return;
      }
      case 'ready':
        if (slot.readied) {
          this.#fault(slot, new Error('Thread reported ready twice'));
          return;
        }
        slot.readied = true;
        if (slot.initial && --this.#initialWaiting === 0) this.#ready.resolve();
        if (slot.state === 'starting') {
          slot.state = 'ready';
          if (this.#pending === 0) slot.hold(false);
          this.#pump();
        }
        return;
      case 'init-failed':
        this.#break(new TaskError(msg.error));
        return;
    }
  }

  #onExit(slot: Slot, code: number): void {
    this.#alive.delete(slot);
    // What the thread posted before it died is its last word: answers settle their tasks, reports
    // reach their runs (the host learns which chunk of a group was running), before any crash.
    if (slot.state === 'ready') {
      slot.exited = true;
      slot.drain((raw) => this.#onMessage(slot, raw));
    }
    slot.port.close();
    if (slot.state !== 'gone' && !slot.readied) {
      // Died before `ready`, even if close() already asked it to end: no respawn loop.
      this.#detach(slot);
      const crash = slot.crash(`exited with code ${code} while starting`, code);
      // The tasks module refused to load in a thread (it started a pool at its top level): that
      // error, with its fix, is the caller's to see, rather than a crash it explains.
      const e = slot.error as { code?: unknown; message?: unknown } | undefined;
      const refused = e?.code === ErrorCodes.TASKS_MODULE && typeof e.message === 'string';
      this.#break(refused ? new TasksModuleError(e.message as string, crash) : crash);
      return;
    }
    if (slot.state === 'retiring' || slot.state === 'gone') {
      slot.state = 'gone';
      this.#checkClosed();
      return;
    }
    this.#stats.crashed++;
    const crash = slot.crash(`exited with code ${code}`, code);
    this.#lose(slot, () => crash);
    this.#checkClosed();
  }

  /** A thread broke the protocol: treat it as a crash and terminate it. */
  #fault(slot: Slot, cause: unknown): void {
    if (slot.state === 'gone') return;
    if (!slot.readied) {
      this.#break(slot.crash('broke the protocol while starting', undefined, cause));
      return;
    }
    this.#stats.crashed++;
    const crash = slot.crash('broke the protocol and was terminated', undefined, cause);
    this.#lose(slot, () => crash);
    slot.terminate();
  }

  /** Detaches a dying slot, rejects its in-flight tasks, and replaces it if work remains. */
  #lose(slot: Slot, errorFor: (task: Task) => unknown): void {
    this.#detach(slot);
    // Ref so that the process does not exit before 'exit' and close() can resolve.
    slot.worker.ref();
    for (const task of slot.takeAll()) this.#settle(task).reject(errorFor(task));
    if (this.#wantsThreads()) this.#spawn(false);
    this.#pump();
  }

  #detach(slot: Slot): void {
    slot.state = 'gone';
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
  }

  /** Asks an idle thread to exit; its 'exit' is then expected. */
  #retire(slot: Slot): void {
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    slot.retire();
  }

  /** Should a lost or retired thread be replaced? While running, and after close() while tasks wait. */
  #wantsThreads(): boolean {
    return this.#state === 'running' || (this.#state === 'closing' && this.#queue.length > 0);
  }

  /** Sends queued tasks to the ready threads with the fewest tasks in flight. */
  #pump(): void {
    const max = this.#opts.maxInFlightPerThread;
    const maxSent = this.#opts.maxTasksPerThread;
    const slots = this.#slots;
    while (this.#queue.length > 0) {
      // An exclusive task waits for an idle thread (and holds back the tasks queued after it).
      const limit = this.#queue.peek()!.exclusive ? 1 : max;
      let best: Slot | undefined;
      for (let i = 0; i < slots.length; i++) {
        const s = slots[i]!;
        if (!s.accepts(limit, maxSent)) continue;
        if (best === undefined || s.inFlight.size < best.inFlight.size) best = s;
        if (best.inFlight.size === 0) break;
      }
      if (best === undefined) return;
      this.#send(best, this.#queue.shift()!);
    }
    if (this.#idleSoon === undefined && this.#idle?.wanted() && this.#idleThreads() > 0) {
      this.#idleSoon = setImmediate(() => {
        this.#idleSoon = undefined;
        const idle = this.#idleThreads();
        if (idle > 0 && this.#queue.length === 0 && this.#state === 'running') this.#idle?.offer(idle);
      });
    }
  }

  /** Ready threads with nothing in flight that may take a task. */
  #idleThreads(): number {
    let idle = 0;
    for (const s of this.#slots)
      if (s.inFlight.size === 0 && s.accepts(1, this.#opts.maxTasksPerThread)) idle++;
    return idle;
  }

  #send(slot: Slot, task: Task): void {
    try {
      slot.send(task);
    } catch (e) {
      this.#settle(task).reject(new NotSerializableError('The task body', undefined, e));
    }
  }

  /** Bookkeeping for a task about to be resolved or rejected; returns it for chaining. */
  #settle(task: Task): Task {
    if (--this.#pending === 0) {
      this.#setRef(false);
      if (this.#state === 'closing') this.#endAll();
    }
    return task;
  }

  #setRef(ref: boolean): void {
    for (const s of this.#slots) {
      // Starting and retiring threads stay ref'd.
      if (s.state === 'ready') s.hold(ref);
    }
  }

  /** After close(), once nothing is pending: every thread exits gracefully. */
  #endAll(): void {
    this.#state = 'closed';
    // Threads still starting get `end` too: it waits in their port until init is done, so ready()
    // still settles.
    for (const slot of [...this.#slots]) this.#retire(slot);
    this.#checkClosed();
  }

  /** A thread could not start: no respawn loop; the pool rejects everything with the cause. */
  #break(error: FanfoldError): void {
    if (this.#state === 'destroyed' || this.#state === 'broken') return;
    this.#state = 'broken';
    this.#brokenBy = error;
    this.#ready.reject(error);
    this.#killAll(error);
  }

  #killAll(error: unknown): void {
    for (const task of this.#queue.removeWhere(() => true)) this.#settle(task).reject(error);
    for (const slot of this.#alive) {
      const wasGone = slot.state === 'gone';
      this.#detach(slot);
      const tasks = slot.takeAll();
      if (!wasGone) for (const task of tasks) this.#settle(task).reject(error);
      slot.terminate();
    }
    this.#checkClosed();
  }

  #checkClosed(): void {
    if (
      this.#alive.size === 0 &&
      (this.#state === 'closed' || this.#state === 'destroyed' || this.#state === 'broken')
    ) {
      this.#closed.resolve();
    }
  }
}

function noop(): void {}

/** What {@link ThreadPool.whenIdle} calls. */
export interface IdleListener {
  /** Whether there is work an idle thread could take (checked often: keep it cheap). */
  wanted(): boolean;
  /** `threads` threads are idle: start tasks for them. */
  offer(threads: number): void;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** A promise settled from outside; pre-handled so that an unobserved rejection is not fatal. */
function deferred(): Deferred {
  const d: Deferred = { promise: undefined as never, resolve: noop, reject: noop };
  (d as { promise: Promise<void> }).promise = new Promise<void>((resolve, reject) => {
    d.resolve = resolve;
    d.reject = reject;
  });
  d.promise.catch(noop);
  return d;
}
