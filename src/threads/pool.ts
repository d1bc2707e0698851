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
import { isAbsolute } from 'node:path';
import { MessageChannel, type MessagePort, type TransferListItem, Worker } from 'node:worker_threads';
import {
  type FanfoldError,
  InvalidArgumentError,
  JobCancelledError,
  NotSerializableError,
  PoolNotRunningError,
  TaskError,
  WorkerCrashedError,
} from '../errors.js';
import { optionalInteger, options, received } from '../validate.js';
import {
  type EndMessage,
  type FromThreadMessage,
  parseFromThread,
  type TaskMessage,
  type ThreadBoot,
} from './messages.js';

/** Options of {@link ThreadPool}. */
export interface ThreadPoolOptions {
  /** Number of threads (an integer >= 1). */
  readonly size: number;
  /** A `file:` URL (string or URL) or absolute path of an ESM file, run in each thread; it calls `serveThread()`. */
  readonly script: string | URL;
  /** Passed to each thread as `workerData.data` and to the `init` of `serveThread()`. @default undefined */
  readonly data?: unknown;
  /** Replace a thread after it has completed this many tasks (CPython `maxtasksperchild`). @default undefined (never) */
  readonly maxTasksPerThread?: number;
  /** Tasks in flight per thread (pipelining hides the ~100 µs round trip). @default 4 */
  readonly maxInFlightPerThread?: number;
  /** Thread names are `${name}-${n}`, n counting up from 1 over the pool's life. @default 'fanfold-worker' */
  readonly name?: string;
  /** Whether names get `-${n}`; false names every thread exactly `name` (a `Process`'s one thread). @default true */
  readonly numbered?: boolean;
  /** The shared-memory arena of local primitives, passed to each thread as `workerData.arena`. @default undefined */
  readonly arena?: SharedArrayBuffer;
}

/** Options of {@link ThreadPool.run}. */
export interface RunOptions {
  /** Objects moved to the thread instead of copied (e.g. `[typedArray.buffer]`). @default undefined */
  readonly transfer?: readonly TransferListItem[];
  /** A label for {@link ThreadPool.cancel}. @default undefined */
  readonly tag?: string;
  /**
   * Run alone: only on a thread with nothing else in flight, and send that thread nothing else
   * until it is done. A crash during it can then be blamed on it alone (the host runs chunks
   * that were redelivered after a crash this way). @default false
   */
  readonly exclusive?: boolean;
}

/** Counters over the pool's life. */
export interface ThreadPoolStats {
  /** Tasks a thread answered, with a result or a thrown error. */
  readonly completed: number;
  /** Threads that died unexpectedly (uncaught exception, `process.exit`, protocol violation). */
  readonly crashed: number;
  /** Threads ended on purpose and replaced: `maxTasksPerThread` reached, or killed by `cancel()`. */
  readonly replaced: number;
}

const DEFAULTS = Object.freeze({ maxInFlightPerThread: 4, name: 'fanfold-worker', numbered: true });

type Resolved = Required<Omit<ThreadPoolOptions, 'data' | 'maxTasksPerThread' | 'script' | 'arena'>> & {
  readonly data: unknown;
  readonly maxTasksPerThread: number;
  readonly script: string | URL;
  readonly arena: SharedArrayBuffer | undefined;
};

type PoolState = 'running' | 'closing' | 'closed' | 'destroyed' | 'broken';
type SlotState = 'starting' | 'ready' | 'retiring' | 'gone';

interface Task {
  readonly id: number;
  body: unknown;
  transfer: readonly TransferListItem[] | undefined;
  readonly tag: string | undefined;
  readonly exclusive: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly name: string;
  readonly initial: boolean;
  state: SlotState;
  /** Tasks sent and not answered, by id. */
  readonly inFlight: Map<number, Task>;
  /** Tasks ever sent (for maxTasksPerThread). */
  sent: number;
  /** Whether the thread reported ready (its init succeeded). */
  readied: boolean;
  /** The last 'error' event (uncaught exception), the cause of the crash reported at 'exit'. */
  error: unknown;
}

/** A pool of worker threads running one script; see the module comment. */
export class ThreadPool {
  readonly #opts: Resolved;
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

  /** Validates the options and starts the threads at once. Throws {@link InvalidArgumentError}. */
  constructor(options: ThreadPoolOptions) {
    this.#opts = resolveOptions(options);
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
    const tag = options?.tag;
    if (tag !== undefined && typeof tag !== 'string') {
      return Promise.reject(
        new InvalidArgumentError(`Expected options.tag to be a string, got ${typeof tag}`),
      );
    }
    const transfer = options?.transfer;
    if (transfer !== undefined && !Array.isArray(transfer)) {
      return Promise.reject(new InvalidArgumentError('Expected options.transfer to be an array'));
    }
    const exclusive = options?.exclusive === true;
    const task: Task = { id: this.#nextId++, body, transfer, tag, exclusive, resolve: noop, reject: noop };
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
      let hit = false;
      for (const t of slot.inFlight.values()) hit ||= t.tag === tag;
      if (!hit) continue;
      this.#stats.replaced++;
      const bystander = new WorkerCrashedError(`Thread ${slot.name} was terminated to cancel tag "${tag}"`);
      this.#lose(slot, (t) => (t.tag === tag ? cancelled : bystander));
      void slot.worker.terminate();
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
    const name = this.#opts.numbered ? `${this.#opts.name}-${index}` : this.#opts.name;
    const { port1, port2 } = new MessageChannel();
    const workerData: ThreadBoot = {
      v: 1,
      data: this.#opts.data,
      fanfold: { name, index, port: port2 },
      ...(this.#opts.arena ? { arena: this.#opts.arena } : {}),
    };
    let worker: Worker;
    try {
      worker = new Worker(this.#opts.script, { workerData, transferList: [port2], name });
    } catch (e) {
      port1.close();
      const notCloneable = e instanceof Error && e.name === 'DataCloneError';
      this.#break(
        notCloneable
          ? new NotSerializableError('options.data', undefined, e)
          : new WorkerCrashedError(`Thread ${name} could not be started`, undefined, e),
      );
      return;
    }
    const slot: Slot = {
      worker,
      port: port1,
      name,
      initial,
      state: 'starting',
      inFlight: new Map(),
      sent: 0,
      readied: false,
      error: undefined,
    };
    this.#slots.push(slot);
    this.#alive.add(slot);
    port1.on('message', (raw: unknown) => this.#onMessage(slot, raw));
    port1.on('messageerror', (e: unknown) => this.#fault(slot, e));
    worker.on('error', (e: unknown) => {
      slot.error = e;
    });
    worker.on('exit', (code: number) => this.#onExit(slot, code));
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
      case 'result':
      case 'error': {
        const task = slot.inFlight.get(msg.id);
        if (task === undefined) {
          this.#fault(slot, new Error(`Answer for unknown task id ${msg.id}`));
          return;
        }
        slot.inFlight.delete(msg.id);
        this.#stats.completed++;
        if (msg.type === 'result') this.#settle(task).resolve(msg.value);
        else this.#settle(task).reject(new TaskError(msg.error));
        // `ready` check: the settle above may have ended every thread (close() with nothing left).
        if (
          slot.sent === this.#opts.maxTasksPerThread &&
          slot.inFlight.size === 0 &&
          slot.state === 'ready'
        ) {
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
          if (this.#pending === 0) {
            slot.worker.unref();
            slot.port.unref();
          }
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
    slot.port.close();
    const why = slot.error instanceof Error ? `: ${slot.error.message}` : '';
    if (slot.state !== 'gone' && !slot.readied) {
      // Died before `ready`, even if close() already asked it to end: no respawn loop.
      this.#detach(slot);
      const msg = `Thread ${slot.name} exited with code ${code} while starting${why}`;
      this.#break(new WorkerCrashedError(msg, code, slot.error));
      return;
    }
    if (slot.state === 'retiring' || slot.state === 'gone') {
      slot.state = 'gone';
      this.#checkClosed();
      return;
    }
    this.#stats.crashed++;
    const crash = new WorkerCrashedError(
      `Thread ${slot.name} exited with code ${code}${why}`,
      code,
      slot.error,
    );
    this.#lose(slot, () => crash);
    this.#checkClosed();
  }

  /** A thread broke the protocol: treat it as a crash and terminate it. */
  #fault(slot: Slot, cause: unknown): void {
    if (slot.state === 'gone') return;
    if (!slot.readied) {
      this.#break(
        new WorkerCrashedError(`Thread ${slot.name} broke the protocol while starting`, undefined, cause),
      );
      return;
    }
    this.#stats.crashed++;
    const crash = new WorkerCrashedError(
      `Thread ${slot.name} broke the protocol and was terminated`,
      undefined,
      cause,
    );
    this.#lose(slot, () => crash);
    void slot.worker.terminate();
  }

  /** Detaches a dying slot, rejects its in-flight tasks, and replaces it if work remains. */
  #lose(slot: Slot, errorFor: (task: Task) => unknown): void {
    this.#detach(slot);
    // Ref so that the process does not exit before 'exit' and close() can resolve.
    slot.worker.ref();
    for (const task of slot.inFlight.values()) this.#settle(task).reject(errorFor(task));
    slot.inFlight.clear();
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
    slot.state = 'retiring';
    slot.worker.ref();
    slot.port.ref();
    const end: EndMessage = { v: 1, type: 'end' };
    slot.port.postMessage(end);
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
        if (s.state !== 'ready' || s.sent >= maxSent || s.inFlight.size >= limit || runsExclusive(s))
          continue;
        if (best === undefined || s.inFlight.size < best.inFlight.size) best = s;
        if (best.inFlight.size === 0) break;
      }
      if (best === undefined) return;
      this.#send(best, this.#queue.shift()!);
    }
  }

  #send(slot: Slot, task: Task): void {
    // (see runsExclusive)
    const msg: TaskMessage = { v: 1, type: 'task', id: task.id, body: task.body };
    try {
      if (task.transfer === undefined) slot.port.postMessage(msg);
      else slot.port.postMessage(msg, task.transfer);
    } catch (e) {
      this.#settle(task).reject(new NotSerializableError('The task body', undefined, e));
      return;
    }
    // The message holds its own copy: let the caller's objects be collected.
    task.body = undefined;
    task.transfer = undefined;
    slot.inFlight.set(task.id, task);
    slot.sent++;
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
      if (s.state !== 'ready') continue; // starting and retiring threads stay ref'd
      if (ref) {
        s.worker.ref();
        s.port.ref();
      } else {
        s.worker.unref();
        s.port.unref();
      }
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
      if (!wasGone) for (const task of slot.inFlight.values()) this.#settle(task).reject(error);
      slot.inFlight.clear();
      slot.worker.ref();
      void slot.worker.terminate();
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

/** A FIFO ring buffer: O(1) push and shift, unlike Array#shift on a long queue. */
class Deque<T> {
  #buf: (T | undefined)[] = new Array(16);
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(value: T): void {
    if (this.#length === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#length) & (this.#buf.length - 1)] = value;
    this.#length++;
  }

  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#buf[this.#head];
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const value = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.#length--;
    return value;
  }

  /** Removes and returns, in order, the items matching `pred` (O(n): for rare cancellations). */
  removeWhere(pred: (value: T) => boolean): T[] {
    const removed: T[] = [];
    const n = this.#length;
    for (let i = 0; i < n; i++) {
      const value = this.shift()!;
      if (pred(value)) removed.push(value);
      else this.push(value);
    }
    return removed;
  }

  #grow(): void {
    const old = this.#buf;
    const next: (T | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#buf = next;
    this.#head = 0;
  }
}

const KNOWN_OPTIONS = [
  'size',
  'script',
  'data',
  'maxTasksPerThread',
  'maxInFlightPerThread',
  'name',
  'numbered',
  'arena',
];

function resolveOptions(raw: ThreadPoolOptions): Resolved {
  const o = options<ThreadPoolOptions>(raw, 'options', KNOWN_OPTIONS);
  const size = optionalInteger(o.size, 'options.size', 1);
  if (size === undefined)
    throw new InvalidArgumentError('Expected options.size to be an integer >= 1, got undefined');
  const name = o.name ?? DEFAULTS.name;
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError(`Expected options.name to be a non-empty string, got ${received(name)}`);
  }
  if (o.numbered !== undefined && typeof o.numbered !== 'boolean')
    throw new InvalidArgumentError(`Expected options.numbered to be a boolean, got ${received(o.numbered)}`);
  return {
    size,
    script: resolveScript(o.script),
    data: o.data,
    maxTasksPerThread:
      optionalInteger(o.maxTasksPerThread, 'options.maxTasksPerThread', 1) ?? Number.POSITIVE_INFINITY,
    maxInFlightPerThread:
      optionalInteger(o.maxInFlightPerThread, 'options.maxInFlightPerThread', 1) ??
      DEFAULTS.maxInFlightPerThread,
    name,
    numbered: o.numbered ?? DEFAULTS.numbered,
    arena: resolveArena(o.arena),
  };
}

function resolveArena(arena: unknown): SharedArrayBuffer | undefined {
  if (arena === undefined || arena instanceof SharedArrayBuffer) return arena;
  throw new InvalidArgumentError(`Expected options.arena to be a SharedArrayBuffer, got ${received(arena)}`);
}

function resolveScript(script: unknown): string | URL {
  if (script instanceof URL) return script;
  if (typeof script === 'string') {
    if (/^(file|data):/.test(script)) return new URL(script);
    if (isAbsolute(script)) return script;
  }
  throw new InvalidArgumentError(
    `Expected options.script to be a file: URL or an absolute path, got ${received(script)}`,
  );
}

/** Whether the slot runs an exclusive task (then it gets nothing else until that is done). */
function runsExclusive(slot: Slot): boolean {
  for (const t of slot.inFlight.values()) if (t.exclusive) return true;
  return false;
}
