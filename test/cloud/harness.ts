/**
 * An engine on the AWS adapters against moto, for the cloud fault-injection and chaos tests: the
 * JobClient, the Coordinator, the DeadLetterHandler and hosts that can be killed at any step, all
 * wired to `awsBackend` on one fresh queue pair, table and bucket. Chunks run in-process on the
 * engine tests' InlineExecutor, so crash points are hit deterministically.
 *
 * Faults are injected into the real SDK clients, under their retry middleware: a request handler
 * wrapping the real one answers chosen attempts with an HTTP error (before the request reaches
 * moto, or after it did and the response was lost), so the SDK deserialises a typed error and
 * retries it under a fast retry strategy. Duplicate deliveries are real extra copies sent to SQS.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { test } from 'vitest';
import type { TaskMap } from '../../src/api/tasks.js';
import { awsBackend } from '../../src/aws/backend.js';
import type { ShardingOptions } from '../../src/aws/job-shards.js';
import { setupAws } from '../../src/aws/setup.js';
import { Coordinator } from '../../src/engine/coordinator.js';
import { DeadLetterHandler } from '../../src/engine/dead-letters.js';
import { type FaultPlan, Host } from '../../src/engine/host.js';
import { parseWorkMessage } from '../../src/engine/protocol.js';
import type {
  Backend,
  CompleteOutcome,
  Delivery,
  JobRecord,
  JobStore,
  WorkMessage,
  WorkQueue,
} from '../../src/ports.js';
import { InlineExecutor, SettledClient } from '../engine/harness.js';
import type { Emulators } from '../runner/index.js';
import type { CloudTier } from '../support/cloud.js';

export { dieOnce } from '../engine/harness.js';

/** One HTTP attempt of an SDK call, as the fault rule sees it. */
export interface SdkCall {
  readonly service: 'sqs' | 'dynamodb' | 's3';
  /** The API, e.g. `TransactWriteItems`, `SendMessageBatch`; for S3 the HTTP method. */
  readonly operation: string;
  /** 1 for the first attempt; the SDK's retries count up to `maxAttempts`. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** The request body, for JSON protocols (SQS, DynamoDB); empty otherwise. */
  readonly body: string;
}

/** The error an attempt gets instead of its response. */
export interface SdkFault {
  /** HTTP status, e.g. 400 for throttling, 500 / 503 for server errors. */
  readonly status: number;
  /** The error code, e.g. `ProvisionedThroughputExceededException`, `ThrottlingException`. */
  readonly type: string;
  /** Forward the request to moto first and lose its response (the write may have happened). */
  readonly afterSend?: boolean;
}

/** Decides, for each attempt, whether it fails. */
export type SdkRule = (call: SdkCall) => SdkFault | undefined;

/** A retry strategy (the SDK's RetryStrategyV2) with the standard classification but short delays. */
function fastRetry(maxAttempts: number): NonNullable<DynamoDBClientConfig['retryStrategy']> {
  const token = (count: number, delay: number) => ({
    getRetryCount: () => count,
    getRetryDelay: () => delay,
  });
  return {
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (t, info) => {
      const next = t.getRetryCount() + 1;
      if (info.errorType === 'CLIENT_ERROR' || next >= maxAttempts) throw info.error;
      return token(next, Math.round(5 * 2 ** next * (0.5 + Math.random() / 2)));
    },
    recordSuccess: () => {},
  };
}

function errorResponse(service: SdkCall['service'], fault: SdkFault) {
  const headers: Record<string, string> = {};
  let body: string;
  if (service === 's3') {
    headers['content-type'] = 'application/xml';
    body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.type}</Code><Message>injected</Message></Error>`;
  } else {
    const ns = service === 'sqs' ? 'com.amazonaws.sqs' : 'com.amazonaws.dynamodb.v20120810';
    headers['content-type'] = 'application/x-amz-json-1.0';
    headers['x-amzn-errortype'] = fault.type;
    if (service === 'sqs') headers['x-amzn-query-error'] = `${fault.type};Sender`;
    body = JSON.stringify({ __type: `${ns}#${fault.type}`, message: 'injected' });
  }
  return {
    response: {
      statusCode: fault.status,
      reason: 'injected',
      headers,
      body: Readable.from([Buffer.from(body)]),
    },
  };
}

function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array)
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString();
  return '';
}

/** The SDK clients of an engine, with the fault rule between their retry middleware and moto. */
export class SdkFaults {
  rule: SdkRule | undefined;
  /** Attempts failed, by `service.operation`. */
  readonly injected = new Map<string, number>();
  /** Attempts made, by `service.operation`. */
  readonly attempts = new Map<string, number>();
  /** Time spent in attempts that reached moto, by `service.operation`. */
  readonly busyMs = new Map<string, number>();
  /** Attempts under way: `service.operation` and when each started. */
  readonly pending = new Set<{ readonly key: string; readonly since: number }>();
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
  #closed = false;

  constructor(emulators: Emulators, maxAttempts: number) {
    const base = {
      ...emulators.clientOptions,
      maxAttempts,
      retryStrategy: fastRetry(maxAttempts),
    };
    this.sqs = new SQSClient({ ...base, useQueueUrlAsEndpoint: false });
    this.dynamo = new DynamoDBClient(base);
    this.s3 = new S3Client({ ...base, forcePathStyle: true });
    this.#wrap(this.sqs, 'sqs');
    this.#wrap(this.dynamo, 'dynamodb');
    this.#wrap(this.s3, 's3');
  }

  /** Failed attempts in all, or of the operations named (`service.operation`). */
  count(...keys: string[]): number {
    let n = 0;
    for (const [k, v] of this.injected) if (keys.length === 0 || keys.includes(k)) n += v;
    return n;
  }

  #wrap(client: SQSClient | DynamoDBClient | S3Client, service: SdkCall['service']): void {
    const real = client.config.requestHandler;
    const handle: typeof real.handle = async (request, options) => {
      // After close, nothing reaches the emulator: a loop the test left running (a caller's wait,
      // a poll) fails at its next request instead of competing with the next test's engine.
      if (this.#closed) throw new Error(`${service} client closed: the test that made it has ended`);
      const target = request.headers['x-amz-target'];
      const operation = target ? target.slice(target.lastIndexOf('.') + 1) : request.method;
      const m = /attempt=(\d+); max=(\d+)/.exec(request.headers['amz-sdk-request'] ?? '');
      const call: SdkCall = {
        service,
        operation,
        attempt: m ? Number(m[1]) : 1,
        maxAttempts: m ? Number(m[2]) : 1,
        body: bodyText(request.body),
      };
      const key = `${service}.${operation}`;
      this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
      const fault = this.rule?.(call);
      if (!fault) {
        const p = { key, since: Date.now() };
        this.pending.add(p);
        try {
          return await real.handle(request, options);
        } finally {
          this.pending.delete(p);
          this.busyMs.set(key, (this.busyMs.get(key) ?? 0) + Date.now() - p.since);
        }
      }
      this.injected.set(key, (this.injected.get(key) ?? 0) + 1);
      if (fault.afterSend) {
        const { response } = await real.handle(request, options);
        // Drain the real response so its socket is released, then lose it.
        const body = response.body as Readable | undefined;
        if (body && typeof body.resume === 'function') body.resume();
      }
      return errorResponse(service, fault) as Awaited<ReturnType<typeof real.handle>>;
    };
    client.config.requestHandler = {
      handle,
      updateHttpClientConfig: () => {},
      httpHandlerConfigs: () => ({}),
      ...(real.destroy ? { destroy: () => real.destroy?.() } : {}),
    } as typeof real;
  }

  /** Fails every later attempt at once and closes the sockets. */
  destroy(): void {
    this.#closed = true;
    this.sqs.destroy();
    this.dynamo.destroy();
    this.s3.destroy();
  }
}

/**
 * What the engine did to the job store, counted per chunk: a chunk whose first completion is
 * counted twice is double-counted. A Proxy, so that every other port method passes through as is.
 */
export class Audit {
  /** First completions (`first: true`) per job and chunk index: each must be exactly 1. */
  readonly firsts = new Map<string, Map<number, number>>();
  firstCompletions = 0;
  duplicateCompletions = 0;
  /** Successful finaliser claims, in order. */
  readonly claims: { readonly jobId: string; readonly owner: string; readonly fence: number }[] = [];
  /** Final state of each job, read when the client releases it. */
  readonly ended = new Map<string, JobRecord>();

  /** Chunks whose first completion was counted more than once, as `job#index`. */
  doubleCounted(): string[] {
    const out: string[] = [];
    for (const [job, m] of this.firsts) for (const [i, n] of m) if (n > 1) out.push(`${job}#${i}`);
    return out;
  }

  fences(jobId: string): number[] {
    return this.claims.filter((c) => c.jobId === jobId).map((c) => c.fence);
  }

  #first(jobId: string, index: number, o: CompleteOutcome): void {
    if (!o.first) {
      this.duplicateCompletions++;
      return;
    }
    this.firstCompletions++;
    const m = this.firsts.get(jobId) ?? new Map<number, number>();
    this.firsts.set(jobId, m);
    m.set(index, (m.get(index) ?? 0) + 1);
  }

  wrap<S extends JobStore>(inner: S): S {
    return new Proxy(inner, {
      get: (target, prop) => {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        const fn = value as (...a: unknown[]) => Promise<unknown>;
        switch (prop) {
          case 'completeChunk':
            return async (jobId: string, index: number, ...rest: unknown[]) => {
              const o = (await fn.call(target, jobId, index, ...rest)) as CompleteOutcome;
              this.#first(jobId, index, o);
              return o;
            };
          case 'completeChunks':
            return async (jobId: string, entries: readonly { index: number }[]) => {
              const os = (await fn.call(target, jobId, entries)) as CompleteOutcome[];
              for (let k = 0; k < os.length; k++) this.#first(jobId, entries[k]!.index, os[k]!);
              return os;
            };
          case 'claimFinaliser':
            return async (jobId: string, owner: string, leaseMs: number) => {
              const c = (await fn.call(target, jobId, owner, leaseMs)) as Awaited<
                ReturnType<JobStore['claimFinaliser']>
              >;
              if (c.claimed) this.claims.push({ jobId, owner, fence: c.fence });
              return c;
            };
          case 'releaseJob':
            return async (jobId: string) => {
              const job = await target.getJob(jobId);
              if (job) this.ended.set(jobId, job);
              return fn.call(target, jobId);
            };
          default:
            return fn.bind(target);
        }
      },
    });
  }
}

/** Options of {@link startCloudEngine}. */
export interface CloudEngineOptions {
  readonly tasks: TaskMap;
  /**
   * How many times slower than a quiet machine the emulator answers (test/support/cloud.ts): the
   * default visibility and lease are scaled by it, so that heartbeats and renewals keep up with a
   * busy machine's requests. @default 1
   */
  readonly pace?: number;
  /** Visibility timeout asked for by hosts (SQS rounds up to whole seconds). @default 1000 × pace */
  readonly visibilityMs?: number;
  /** The finaliser lease. @default 3000 × pace (a slow fold on a loaded machine must not lose it) */
  readonly leaseMs?: number;
  /** The queue's RedrivePolicy. @default 5 */
  readonly maxReceiveCount?: number;
  /**
   * The client's deadline for each job. @default 30 000 × pace (the lease and visibility follow the
   * pace; a job that waits out a dead finaliser's scaled lease must not meet a fixed deadline first)
   */
  readonly jobTimeoutMs?: number;
  /** SDK attempts per request, the first included. @default 3 */
  readonly maxAttempts?: number;
  /** Chunk messages in flight per host (each one is extended by a heartbeat call). @default 32 */
  readonly capacity?: number;
  /** Polling of the callers' waits, in ms. @default { min: 20, max: 200 } */
  readonly pollMs?: { readonly min: number; readonly max: number };
  /** Hosts started at once (more with {@link CloudEngine.startHost}). @default 1 */
  readonly hosts?: number;
  /**
   * How the store spreads a job's records. @default a shard per 3 chunks, at most 4 (3 for an open
   * job): the tests' jobs of a few chunks then record over several shards, as a job of thousands
   * does with the default sharding.
   */
  readonly sharding?: ShardingOptions;
}

/** A running engine on moto. */
export interface CloudEngine {
  readonly backend: Backend & { readonly store: JobStore };
  readonly audit: Audit;
  readonly sdk: SdkFaults;
  readonly client: SettledClient;
  readonly coordinator: Coordinator;
  readonly executor: InlineExecutor;
  readonly hosts: Host[];
  /** Errors reported by hosts and the dead-letter handler. */
  readonly errors: unknown[];
  /** Highest receive count seen per `job#index` by any host. */
  readonly receives: Map<string, number>;
  /** Extra copies to send of each message (0 by default): real duplicates on SQS. */
  duplicates: ((m: WorkMessage) => number) | undefined;
  /** Messages sent again as duplicates. */
  readonly duplicated: { count: number };
  startHost(faults?: FaultPlan, owner?: string): Host;
  /**
   * Kills the hosts, stops the dead-letter handler, fails every later request of the engine's
   * clients (so a caller still waiting ends at once) and deletes the queues. Safe to call twice.
   */
  close(): Promise<void>;
}

/** Wraps a queue: duplicates sent messages on demand and logs receive counts. */
function auditedQueue(inner: WorkQueue, engine: () => CloudEngine): WorkQueue {
  return new Proxy(inner, {
    get: (target, prop) => {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop === 'send')
        return async (messages: readonly WorkMessage[]) => {
          await target.send(messages);
          const e = engine();
          const dup = e.duplicates;
          if (!dup) return;
          const copies: WorkMessage[] = [];
          for (const m of messages) for (let k = dup(m); k > 0; k--) copies.push(m);
          if (copies.length === 0) return;
          await target.send(copies);
          e.duplicated.count += copies.length;
        };
      if (prop === 'receive')
        return async (o: Parameters<WorkQueue['receive']>[0]) => {
          const got: Delivery[] = await target.receive(o);
          const { receives } = engine();
          for (const d of got) {
            try {
              const m = parseWorkMessage(d.body);
              const key = m.type === 'chunk' ? `${m.jobId}#${m.index}` : `${m.jobId}#finalise`;
              receives.set(key, Math.max(receives.get(key) ?? 0, d.receiveCount));
            } catch {
              // Malformed: the host reports it.
            }
          }
          return got;
        };
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Creates a fresh queue pair, table and bucket on the emulator and starts an engine on them. */
export async function startCloudEngine(emulators: Emulators, o: CloudEngineOptions): Promise<CloudEngine> {
  const pace = o.pace ?? 1;
  // A visibility shorter than a few heartbeat rounds on this machine lets a message a live host
  // holds come back, and every such delivery uses up one of the chunk's receives.
  const visibilityMs = o.visibilityMs ?? 1000 * Math.ceil(pace);
  const leaseMs = o.leaseMs ?? Math.round(3000 * pace);
  // AWS recommends at least 5 for Lambda consumers. Under a loaded CI machine a 1 s visibility lets
  // a message come back while still in flight (late heartbeats): correct at-least-once behaviour
  // that must not exhaust the deliveries of a test whose only fault is elsewhere. Tests about
  // exhaustion set their own maxReceiveCount.
  const maxReceiveCount = o.maxReceiveCount ?? 5;
  const name = `ff-${randomUUID().slice(0, 12)}`;
  const sdk = new SdkFaults(emulators, o.maxAttempts ?? 3);
  // Resources are made through clean clients: the fault rule is for the engine only.
  const setupClients = new SdkFaults(emulators, 3);
  const resources = await setupAws({
    clients: setupClients,
    tableName: name,
    bucket: name,
    queue: { name, visibilityTimeoutSeconds: Math.ceil(visibilityMs / 1000), maxReceiveCount },
  });
  const raw = awsBackend({
    ...resources,
    clients: { sqs: sdk.sqs, dynamo: sdk.dynamo, s3: sdk.s3 },
    store: {
      retryBaseMs: 5,
      sharding: o.sharding ?? { chunksPerShard: 3, maxShards: 4, openShards: 3 },
    },
  });
  const audit = new Audit();
  let engine!: CloudEngine;
  const backend: CloudEngine['backend'] = {
    ...raw,
    queue: auditedQueue(raw.queue, () => engine),
    store: audit.wrap(raw.store),
  };
  const executor = new InlineExecutor(o.tasks);
  const hosts: Host[] = [];
  const errors: unknown[] = [];
  let closing: Promise<void> | undefined;
  const coordinator = new Coordinator(backend);
  const client = new SettledClient({
    coordinator: (req) => coordinator.handle(req),
    store: backend.store,
    blobs: backend.blobs,
    processes: 2,
    jobTimeoutMs: o.jobTimeoutMs ?? Math.round(30_000 * pace),
    window: 8,
    poll: o.pollMs ?? { min: 20, max: 200 },
    onJobEnded: (id) => {
      for (const h of hosts) h.jobEnded(id);
    },
    onError: (e) => errors.push(e),
  });
  const dlq = new DeadLetterHandler({
    backend,
    maxReceiveCount,
    waitMs: 1000,
    onJobFailed: (id) => {
      for (const h of hosts) h.jobEnded(id);
    },
    onError: (e) => errors.push(e),
  });
  dlq.start();
  engine = {
    backend,
    audit,
    sdk,
    client,
    coordinator,
    executor,
    hosts,
    errors,
    receives: new Map(),
    duplicates: undefined,
    duplicated: { count: 0 },
    startHost(faults, owner) {
      const h = new Host({
        backend,
        executor,
        visibilityMs,
        leaseMs,
        capacity: o.capacity ?? 32,
        waitMs: 1000,
        onError: (e) => errors.push(e),
        ...(faults ? { faults } : {}),
        ...(owner ? { owner } : {}),
      });
      hosts.push(h);
      h.start();
      return h;
    },
    close() {
      closing ??= (async () => {
        for (const h of hosts) h.kill();
        sdk.rule = undefined;
        // First the engine's clients: every loop still running (the caller's waits, the hosts'
        // and the DLQ handler's receives) fails at its next request and ends.
        sdk.destroy();
        await dlq.stop();
        await Promise.all(
          [resources.queueUrl, resources.deadLetterQueueUrl].map((QueueUrl) =>
            setupClients.sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => {}),
          ),
        );
        setupClients.destroy();
      })();
      return closing;
    },
  };
  for (let i = 0; i < (o.hosts ?? 1); i++) engine.startHost();
  return engine;
}

/** Waits until `check` holds, polling, for at most `timeoutMs` (scale it with the tier's pace). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A test function whose `engine` fixture starts engines that end with the test. */
export type EngineTest = ReturnType<typeof engineTest>;

/**
 * `it` with an `engine(options)` fixture: each engine it starts is closed when the test ends,
 * passed, failed or timed out. A timed-out test's body goes on running after vitest moved on;
 * closing its engines makes that body fail at its next request instead of polling the emulator
 * beside the next tests.
 */
export function engineTest(cloud: CloudTier, tasks: TaskMap) {
  return test.extend<{ engine: (o?: Omit<CloudEngineOptions, 'tasks'>) => Promise<CloudEngine> }>({
    engine: async ({ onTestFailed }, use) => {
      const started: CloudEngine[] = [];
      // What a failure needs to be understood: the hosts' errors and the chunks' deliveries.
      onTestFailed(() => {
        for (const e of started) {
          const receives = [...e.receives].filter(([, n]) => n > 1);
          console.error(
            `engine at pace ${cloud.pace.toFixed(1)}: ${e.hosts.length} hosts (${e.hosts.filter((h) => h.dead).length} dead), ` +
              `redelivered ${JSON.stringify(Object.fromEntries(receives))}, ` +
              `${e.errors.length} errors${e.errors.length ? `:\n${e.errors.slice(0, 10).map(String).join('\n')}` : ''}`,
          );
        }
      });
      await use(async (o = {}) => {
        const e = await startCloudEngine(cloud.emulators, { tasks, pace: cloud.pace, ...o });
        started.push(e);
        return e;
      });
      await Promise.all(started.map((e) => e.close()));
    },
  });
}
