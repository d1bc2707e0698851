/**
 * One thread of a {@link ThreadPool}, as the main thread sees it: the Worker, the pool's private
 * channel to it, and the tasks sent to it and not answered yet. The pool decides (which thread
 * takes a task, when a thread is replaced, what a crash means for its tasks); a slot carries the
 * decision out: start, send, answer, hold the process alive or not, retire, terminate.
 */
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  type TransferListItem,
  Worker,
} from 'node:worker_threads';
import { WorkerCrashedError } from '../errors.js';
import type { EndMessage, TaskMessage, ThreadBoot } from './messages.js';

/** Where a slot is in its life: `retiring` was asked to end; `gone` is detached from its pool. */
export type SlotState = 'starting' | 'ready' | 'retiring' | 'gone';

/** A task of the pool: queued, then sent to one slot until its thread answers. */
export interface Task {
  readonly id: number;
  /** The body to post; dropped once posted, so that the caller's objects can be collected. */
  body: unknown;
  transfer: readonly TransferListItem[] | undefined;
  readonly tag: string | undefined;
  readonly exclusive: boolean;
  /** Where the parts of the result reported ahead go. */
  readonly progress: ((part: unknown) => void) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** What a slot's thread starts with. */
export interface SlotStart {
  readonly script: string | URL;
  readonly name: string;
  readonly index: number;
  /** One of the threads the pool started with (their readiness resolves the pool's `ready()`). */
  readonly initial: boolean;
  readonly data: unknown;
  readonly arena: SharedArrayBuffer | undefined;
}

/** Where a slot reports its thread's events. */
export interface SlotEvents {
  message(slot: Slot, raw: unknown): void;
  messageError(slot: Slot, error: unknown): void;
  exit(slot: Slot, code: number): void;
}

/** One worker thread of a pool; see the module comment. */
export class Slot {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly name: string;
  readonly initial: boolean;
  state: SlotState = 'starting';
  /** Tasks sent and not answered, by id. */
  readonly inFlight = new Map<number, Task>();
  /** Tasks ever sent (for `maxTasksPerThread`). */
  sent = 0;
  /** Its thread emitted 'exit' (what it posted is being drained): it takes nothing more. */
  exited = false;
  /** Whether the thread reported ready (its init succeeded). */
  readied = false;
  /** The last 'error' event (uncaught exception), the cause of the crash reported at 'exit'. */
  error: unknown = undefined;

  /** Starts the thread. Throws what `new Worker` throws (uncloneable data…), leaving nothing open. */
  constructor(start: SlotStart, events: SlotEvents) {
    const { port1, port2 } = new MessageChannel();
    const workerData: ThreadBoot = {
      v: 1,
      data: start.data,
      fanfold: { name: start.name, index: start.index, port: port2 },
      ...(start.arena ? { arena: start.arena } : {}),
    };
    try {
      this.worker = new Worker(start.script, { workerData, transferList: [port2], name: start.name });
    } catch (e) {
      port1.close();
      throw e;
    }
    this.port = port1;
    this.name = start.name;
    this.initial = start.initial;
    port1.on('message', (raw: unknown) => events.message(this, raw));
    port1.on('messageerror', (e: unknown) => events.messageError(this, e));
    this.worker.on('error', (e: unknown) => {
      this.error = e;
    });
    this.worker.on('exit', (code: number) => events.exit(this, code));
  }

  /** Whether it runs an exclusive task (then it gets nothing else until that is done). */
  get runsExclusive(): boolean {
    for (const t of this.inFlight.values()) if (t.exclusive) return true;
    return false;
  }

  /** Whether a task tagged `tag` is in flight here. */
  runs(tag: string): boolean {
    for (const t of this.inFlight.values()) if (t.tag === tag) return true;
    return false;
  }

  /**
   * Whether it may take one more task now: ready, under its task budget, under `limit` tasks in
   * flight, and not running an exclusive one.
   */
  accepts(limit: number, maxSent: number): boolean {
    return (
      this.state === 'ready' &&
      !this.exited &&
      this.sent < maxSent &&
      this.inFlight.size < limit &&
      !this.runsExclusive
    );
  }

  /** Whether it has run its `maxTasksPerThread` tasks and is idle: time to replace it. */
  spent(maxSent: number): boolean {
    return this.sent === maxSent && this.inFlight.size === 0 && this.state === 'ready';
  }

  /**
   * The error a crash of this thread gives: `how` it ended (`exited with code 1`, `broke the
   * protocol`), caused by `cause`, else by the uncaught exception it reported last (named too).
   */
  crash(how: string, code?: number, cause?: unknown): WorkerCrashedError {
    if (cause !== undefined) return new WorkerCrashedError(`Thread ${this.name} ${how}`, code, cause);
    const why = this.error instanceof Error ? `: ${this.error.message}` : '';
    return new WorkerCrashedError(`Thread ${this.name} ${how}${why}`, code, this.error);
  }

  /** Posts the task to the thread; throws when its body cannot be cloned (nothing is recorded then). */
  send(task: Task): void {
    const msg: TaskMessage = { v: 1, type: 'task', id: task.id, body: task.body };
    if (task.transfer === undefined) this.port.postMessage(msg);
    else this.port.postMessage(msg, task.transfer);
    // The message holds its own copy: let the caller's objects be collected.
    task.body = undefined;
    task.transfer = undefined;
    this.inFlight.set(task.id, task);
    this.sent++;
  }

  /** The in-flight task that answer `id` settles, no longer in flight; undefined for an unknown id. */
  answered(id: number): Task | undefined {
    const task = this.inFlight.get(id);
    this.inFlight.delete(id);
    return task;
  }

  /**
   * Hands `receive` what the thread posted and the port has not delivered yet: a thread that died
   * had its last answers and reports in the port, and its 'exit' can come before them.
   */
  drain(receive: (raw: unknown) => void): void {
    for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port))
      receive(m.message);
  }

  /** Every task in flight, no longer in flight (the thread is lost). */
  takeAll(): Task[] {
    const tasks = [...this.inFlight.values()];
    this.inFlight.clear();
    return tasks;
  }

  /** Whether the thread keeps the process alive: while work is pending, while it starts or ends. */
  hold(ref: boolean): void {
    if (ref) {
      this.worker.ref();
      this.port.ref();
    } else {
      this.worker.unref();
      this.port.unref();
    }
  }

  /** Asks the idle thread to exit; its 'exit' is then expected. */
  retire(): void {
    this.state = 'retiring';
    this.hold(true);
    const end: EndMessage = { v: 1, type: 'end' };
    this.port.postMessage(end);
  }

  /** Ends the thread now, whatever it runs; ref'd so that the process waits for its 'exit'. */
  terminate(): void {
    this.worker.ref();
    void this.worker.terminate();
  }
}
