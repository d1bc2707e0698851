/**
 * Runs a function's bundle the way Lambda does. Each execution environment ("container") is a
 * child process (bootstrap.mjs) with the function's environment, which imports the handler once
 * and then serves one invocation at a time, warm, until it dies. A function has several
 * containers for concurrent invocations. Between invocations a container is frozen (SIGSTOP),
 * as Lambda freezes an idle environment, so background timers do not run. An invocation that
 * overruns the function's timeout kills its container and fails with Lambda's
 * `Task timed out after N.NN seconds`; a container whose process exits mid-invocation fails it
 * with `Runtime.ExitError`.
 *
 * The runner caps a function's containers (the machine's cores, not Lambda's thousand); Lambda
 * gives every concurrent invocation an environment of its own, so within the cap an event source
 * mapping's invocation never waits behind asynchronous ones: a mapping's waiting invocation holds
 * its batch at the queue's visibility (30 min on fanfold's default stack), a state Lambda only
 * knows under throttling, while a waiting asynchronous event merely sits in Lambda's own event
 * queue. So the mappings' concurrency is kept free of asynchronous invocations
 * ({@link FunctionSandbox.reserveForMapping}), and an invocation that waits for a container goes
 * ahead of asynchronous ones.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Reaper } from './reaper.js';
import type { FunctionSpec } from './resources.js';

const BOOTSTRAP = fileURLToPath(new URL('./bootstrap.mjs', import.meta.url));
/** Where the runner resolves the AWS SDK from: bundles that leave it external get the same one. */
const SDK_ROOT = fileURLToPath(new URL('./', import.meta.url));

/** A response over this many bytes fails the invocation (Lambda's 6 MB, as its message states it). */
export const MAX_RESPONSE_BYTES = 6_291_556;
/** Lambda's limit on a function's init phase. */
const INIT_TIMEOUT_MS = 10_000;
/** The log tail kept per invocation (Invoke's `LogType: Tail` returns the last 4 KB). */
const LOG_TAIL_BYTES = 4096;

/** Lambda's error payload. */
export interface LambdaError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: readonly string[];
}

/** The outcome of one invocation. */
export interface InvokeOutcome {
  readonly requestId: string;
  /** The response payload: the handler's result as JSON, or a {@link LambdaError} as JSON. */
  readonly payload: string;
  /** Set (`Unhandled`) when the payload is an error. */
  readonly functionError: 'Unhandled' | undefined;
  /** The end of what the container wrote to stdout/stderr during the invocation. */
  readonly logTail: string;
  /** True when the container was started for this invocation. */
  readonly cold: boolean;
  readonly durationMs: number;
}

/** The function's concurrency is used up; Invoke answers 429. */
export class ThrottledError extends Error {
  override readonly name = 'ThrottledError';
}

/** Options of {@link FunctionSandbox}. */
export interface SandboxOptions {
  /** Region and endpoints: variables added to the function's environment. */
  readonly runtimeEnv: Readonly<Record<string, string>>;
  /** Containers at most, whatever the load; further invocations wait for one. @default 4 */
  readonly maxContainers?: number;
  /** Freeze idle containers with SIGSTOP, as Lambda does. @default true */
  readonly freeze?: boolean;
  /** Receives every line a container writes. @default discarded */
  readonly onLog?: (functionName: string, line: string) => void;
  /** Told of every container, to kill it if the test process dies. @default none */
  readonly reaper?: Reaper;
}

interface Pending {
  readonly id: string;
  readonly resolve: (value: { payload: string; error: boolean }) => void;
  log: string;
  /** The child answered; the answer is delivered on the next turn (see the message handler). */
  answered: boolean;
}

/** One execution environment. */
class Container {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  #pending: Pending | undefined;
  #dead = false;
  /** The runtime reported a fatal error and is exiting: never handed another invocation. */
  #doomed = false;
  #exitReason = '';
  #partial = '';

  constructor(
    readonly spec: FunctionSpec,
    env: Record<string, string>,
    private readonly onLog: (line: string) => void,
    reaper: Reaper | undefined,
  ) {
    this.child = fork(BOOTSTRAP, [], {
      cwd: spec.codeDir,
      env,
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const { pid } = this.child;
    if (pid !== undefined) reaper?.add(pid);
    const collect = (chunk: Buffer): void => this.#log(chunk.toString());
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#dead = true;
        if (pid !== undefined) reaper?.remove(pid);
        this.#exitReason = signal
          ? `signal: ${signal === 'SIGKILL' ? 'killed' : signal}`
          : `exit status ${code}`;
        const pending = this.#pending;
        this.#pending = undefined;
        if (pending?.answered) return resolve();
        pending?.resolve({
          error: true,
          payload: JSON.stringify({
            errorType: 'Runtime.ExitError',
            errorMessage: `RequestId: ${pending.id} Error: Runtime exited with error: ${this.#exitReason}`,
          }),
        });
        resolve();
      });
    });
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill();
        reject(
          lambdaError('Runtime.InitError', `init of ${spec.name} took over ${INIT_TIMEOUT_MS / 1000} s`),
        );
      }, INIT_TIMEOUT_MS);
      this.child.on('message', (message: ChildMessage) => {
        switch (message.type) {
          case 'ready':
            clearTimeout(timer);
            resolve();
            return;
          case 'init-error':
            clearTimeout(timer);
            reject(lambdaError(message.error.errorType, message.error.errorMessage, message.error.trace));
            return;
          case 'result':
          case 'error':
          case 'fatal': {
            const pending = this.#pending;
            if (!pending || pending.answered || (message.id !== undefined && message.id !== pending.id))
              return;
            pending.answered = true;
            if (message.type === 'fatal') this.#doomed = true;
            const outcome =
              message.type === 'result'
                ? { payload: message.payload, error: false }
                : { payload: JSON.stringify(message.error), error: true };
            // The child wrote its logs before it answered; output already in the pipe is read in
            // this same poll phase, so by setImmediate the log tail is complete.
            setImmediate(() => {
              if (this.#pending === pending) this.#pending = undefined;
              pending.resolve(outcome);
            });
            return;
          }
        }
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(lambdaError('Runtime.ExitError', `container exited during init: ${this.#exitReason}`));
      });
    });
    // Rejections of `ready` are handled by whoever awaits it; never unhandled here.
    this.ready.catch(() => {});
  }

  get dead(): boolean {
    return this.#dead || this.#doomed;
  }

  #log(text: string): void {
    if (this.#pending) this.#pending.log = (this.#pending.log + text).slice(-LOG_TAIL_BYTES);
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.onLog(line);
  }

  /** Runs one invocation; resolves with the payload, or an error payload. */
  run(
    id: string,
    payload: string,
    context: object,
  ): Promise<{ payload: string; error: boolean; log: string }> {
    return new Promise((resolve) => {
      const pending: Pending = {
        id,
        log: '',
        answered: false,
        resolve: (r) => resolve({ ...r, log: pending.log }),
      };
      if (this.#dead) {
        const error = { errorType: 'Runtime.ExitError', errorMessage: `Runtime exited: ${this.#exitReason}` };
        resolve({ payload: JSON.stringify(error), error: true, log: '' });
        return;
      }
      this.#pending = pending;
      // A send that fails means the process is exiting; its exit handler fails the invocation.
      this.child.send({ type: 'invoke', id, payload, context }, undefined, undefined, () => {});
    });
  }

  freeze(): void {
    if (!this.#dead) this.child.kill('SIGSTOP');
  }

  thaw(): void {
    if (!this.#dead) this.child.kill('SIGCONT');
  }

  kill(): void {
    this.#doomed = true;
    if (!this.#dead) this.child.kill('SIGKILL');
  }
}

type ChildMessage =
  | { type: 'ready' }
  | { type: 'init-error'; error: LambdaError }
  | { type: 'result'; id: string; payload: string }
  | { type: 'error'; id: string; error: LambdaError }
  | { type: 'fatal'; id: string | undefined; error: LambdaError };

class InitError extends Error {
  constructor(readonly error: LambdaError) {
    super(error.errorMessage);
  }
}

function lambdaError(errorType: string, errorMessage: string, trace?: readonly string[]): InitError {
  return new InitError({ errorType, errorMessage, ...(trace ? { trace } : {}) });
}

/** The containers of one function, and its invocations. */
export class FunctionSandbox {
  readonly #idle: Container[] = [];
  readonly #all = new Set<Container>();
  readonly #waiters: ((container: Container | undefined) => void)[] = [];
  /** Asynchronous invocations waiting for a container: served after {@link #waiters}. */
  readonly #asyncWaiters: ((container: Container | undefined) => void)[] = [];
  /** Asynchronous invocations waiting for a slot of their own (see {@link reserveForMapping}). */
  readonly #asyncSlotWaiters: (() => void)[] = [];
  /** Containers kept for event source mappings: asynchronous invocations use the rest. */
  #mappingSlots = 0;
  #asyncBusy = 0;
  readonly #env: Record<string, string>;
  readonly #maxContainers: number;
  readonly #freeze: boolean;
  readonly #onLog: (line: string) => void;
  readonly #reaper: Reaper | undefined;
  #busy = 0;
  #stopped = false;
  #invocations = 0;
  #coldStarts = 0;
  #maxBusy = 0;

  constructor(
    readonly spec: FunctionSpec,
    options: SandboxOptions,
  ) {
    this.#maxContainers = Math.min(
      options.maxContainers ?? 4,
      spec.reservedConcurrency ?? Number.POSITIVE_INFINITY,
    );
    this.#freeze = options.freeze ?? true;
    this.#reaper = options.reaper;
    const onLog = options.onLog;
    this.#onLog = onLog ? (line) => onLog(spec.name, line) : () => {};
    this.#env = {
      // A clean environment, as on Lambda: nothing of the test process's.
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      NODE_OPTIONS: '',
      ...spec.environment,
      // What Lambda sets itself (a template may not: deployStack refuses reserved names), and the
      // emulators' endpoints, which the template's variables never override.
      LAMBDA_TASK_ROOT: spec.codeDir ?? '',
      _HANDLER: spec.handler,
      AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: spec.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      // Never the developer's ~/.aws files.
      AWS_CONFIG_FILE: '/nonexistent/fanfold-runner/config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/fanfold-runner/credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
      FANFOLD_RUNNER_SDK_ROOT: SDK_ROOT,
      // The bundle runs on this machine's Node, not the function's declared runtime (nodejs22.x
      // and up for fanfold): the SDK's warning about Node 20 is about the host, not the function.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...options.runtimeEnv,
    };
  }

  /**
   * Keeps `concurrency` of the containers for an event source mapping of this function (its
   * poller's invocations at once): asynchronous invocations run on the others, at least one.
   */
  reserveForMapping(concurrency: number): void {
    this.#mappingSlots += concurrency;
  }

  /** Process ids of the live containers. */
  pids(): number[] {
    return [...this.#all].flatMap((c) => (c.dead || c.child.pid === undefined ? [] : [c.child.pid]));
  }

  /**
   * Kills the container whose process id is `pid` with SIGKILL, as an out-of-memory kill or a host
   * failure would end an execution environment: its invocation in progress, if any, fails with
   * `Runtime.ExitError` (an event source mapping then leaves its batch to the visibility timeout),
   * and the next invocation gets a new container. Returns false (and kills nothing) when `pid` is
   * not a live container of this function, so a test can never end a process that is not one.
   */
  kill(pid: number): boolean {
    const container = [...this.#all].find((c) => !c.dead && c.child.pid === pid);
    if (!container) return false;
    // A frozen (SIGSTOPped) container dies of SIGKILL too.
    container.kill();
    return true;
  }

  /** Invocations so far, cold starts, live containers, and the most invocations at once. */
  stats(): { invocations: number; coldStarts: number; containers: number; busy: number; maxBusy: number } {
    return {
      invocations: this.#invocations,
      coldStarts: this.#coldStarts,
      containers: this.#all.size,
      busy: this.#busy,
      maxBusy: this.#maxBusy,
    };
  }

  /**
   * Invokes the function with `payload` (JSON text). With `throttle`, an invocation beyond the
   * function's reserved concurrency is refused with {@link ThrottledError}, as the Invoke API
   * does; otherwise it waits for a container.
   */
  async invoke(
    payload: string,
    options: { throttle?: boolean; clientContext?: unknown; async?: boolean } = {},
  ): Promise<InvokeOutcome> {
    if (!options.async) return this.#invoke(payload, options);
    // An asynchronous event takes a container only beside the mappings' reserved ones.
    const limit = Math.max(1, this.#maxContainers - this.#mappingSlots);
    while (this.#asyncBusy >= limit) {
      await new Promise<void>((resolve) => this.#asyncSlotWaiters.push(resolve));
      if (this.#stopped) throw new Error(`the sandbox of ${this.spec.name} is stopped`);
    }
    this.#asyncBusy++;
    try {
      return await this.#invoke(payload, options);
    } finally {
      this.#asyncBusy--;
      this.#asyncSlotWaiters.shift()?.();
    }
  }

  async #invoke(
    payload: string,
    options: { throttle?: boolean; clientContext?: unknown; async?: boolean },
  ): Promise<InvokeOutcome> {
    if (this.#stopped) throw new Error(`the sandbox of ${this.spec.name} is stopped`);
    const { reservedConcurrency } = this.spec;
    if (options.throttle && reservedConcurrency !== undefined && this.#busy >= reservedConcurrency)
      throw new ThrottledError('Rate Exceeded.');
    const requestId = randomUUID();
    const started = performance.now();
    this.#busy++;
    this.#maxBusy = Math.max(this.#maxBusy, this.#busy);
    this.#invocations++;
    try {
      let cold = false;
      let container: Container;
      try {
        const got = await this.#acquire(options.async === true);
        container = got.container;
        cold = got.cold;
      } catch (e) {
        if (!(e instanceof InitError)) throw e;
        return errorOutcome(requestId, e.error, true, started);
      }
      const timeoutMs = this.spec.timeoutSeconds * 1000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const context = {
        functionName: this.spec.name,
        invokedFunctionArn: this.spec.arn,
        memoryLimitInMB: this.spec.memoryMb,
        deadlineMs: Date.now() + timeoutMs,
        logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${container.child.pid}`,
        clientContext: options.clientContext,
      };
      const result = await Promise.race([container.run(requestId, payload, context), timedOut]);
      clearTimeout(timer);
      if (result === 'timeout') {
        // Lambda resets the environment after a timeout: the container is gone.
        container.kill();
        return errorOutcome(
          requestId,
          {
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${requestId} Error: Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`,
          },
          cold,
          started,
        );
      }
      this.#release(container);
      if (!result.error && Buffer.byteLength(result.payload) > MAX_RESPONSE_BYTES)
        return errorOutcome(
          requestId,
          {
            errorType: 'Function.ResponseSizeTooLarge',
            errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
          },
          cold,
          started,
        );
      return {
        requestId,
        payload: result.payload,
        functionError: result.error ? 'Unhandled' : undefined,
        logTail: result.log,
        cold,
        durationMs: performance.now() - started,
      };
    } finally {
      this.#busy--;
    }
  }

  async #acquire(async: boolean): Promise<{ container: Container; cold: boolean }> {
    for (;;) {
      const idle = this.#idle.pop();
      if (idle && !idle.dead) {
        if (this.#freeze) idle.thaw();
        return { container: idle, cold: false };
      }
      if (idle) continue;
      if (this.#all.size < this.#maxContainers) {
        this.#coldStarts++;
        const container = new Container(this.spec, this.#env, this.#onLog, this.#reaper);
        this.#all.add(container);
        void container.exited.then(() => {
          this.#all.delete(container);
          // A slot freed up: let a waiter start a container of its own.
          this.#wake(undefined);
        });
        try {
          await container.ready;
        } catch (e) {
          container.kill();
          throw e;
        }
        return { container, cold: true };
      }
      const next = await new Promise<Container | undefined>((resolve) =>
        (async ? this.#asyncWaiters : this.#waiters).push(resolve),
      );
      if (this.#stopped) throw new Error(`the sandbox of ${this.spec.name} is stopped`);
      if (next) return { container: next, cold: false };
    }
  }

  #release(container: Container): void {
    if (container.dead || this.#stopped) return;
    if (this.#waiters.length > 0 || this.#asyncWaiters.length > 0) {
      this.#wake(container);
      return;
    }
    if (this.#freeze) container.freeze();
    this.#idle.push(container);
  }

  #wake(container: Container | undefined): void {
    const waiter = this.#waiters.shift() ?? this.#asyncWaiters.shift();
    if (waiter) waiter(container);
    else if (container) this.#idle.push(container);
  }

  /** Kills every container (invocations in progress fail) and waits for them to exit. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const waiter of [...this.#waiters.splice(0), ...this.#asyncWaiters.splice(0)]) waiter(undefined);
    for (const waiter of this.#asyncSlotWaiters.splice(0)) waiter();
    const all = [...this.#all];
    for (const container of all) container.kill();
    await Promise.all(all.map((c) => c.exited));
  }
}

function errorOutcome(requestId: string, error: LambdaError, cold: boolean, started: number): InvokeOutcome {
  return {
    requestId,
    payload: JSON.stringify(error),
    functionError: 'Unhandled',
    logTail: '',
    cold,
    durationMs: performance.now() - started,
  };
}
