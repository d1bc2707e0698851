/**
 * The AWS context's side of the primitives: the {@link AwsSyncEnv} its factories share, and the
 * launcher of its processes. The context's factories are synchronous (`mp.Lock()` returns a lock),
 * while the stack's outputs (table, bucket, queue prefix) are read on first use: the env's
 * `clients()` reads them first, so every primitive's first operation (which awaits `clients()`)
 * finds `table`, `bucket` and `queuePrefix` set. No SDK module loads before that call.
 */
import { randomUUID } from 'node:crypto';
import type { PoolRuntime } from '../api/pool.js';
import type { ProcessLauncher } from '../api/process-impl.js';
import { InvalidArgumentError, JobCancelledError, ProtocolError } from '../errors.js';
import type { StackResources } from './invoke.js';
import { loadSdk } from './sdk.js';
import type { Settings } from './settings.js';
import type { AwsSyncClients, AwsSyncEnv } from './sync/env.js';

/**
 * The queue name prefix used when a stack found by name has no `FanfoldQueuePrefix` output (an
 * older stack), and in a function without `FANFOLD_QUEUE_PREFIX`. A context given `resources`
 * without `queuePrefix` has none: its Queue and Pipe fail on first use (see {@link contextSyncEnv}).
 */
export const DEFAULT_QUEUE_PREFIX = 'fanfold-';
/** A held lock's lease (AwsSyncEnv's documented default). */
const LEASE_MS = 30_000;
/** Polling waits of the primitives (AwsSyncEnv's documented default). */
const POLL_MS = { min: 20, max: 1000 } as const;

/**
 * The primitives' environment of one context. Reading `table`, `bucket` or `queuePrefix` before
 * the first `clients()` has resolved throws when the context names a stack (its outputs are not
 * read yet); with `resources`, they are known at once. With `resources` but no `queuePrefix`,
 * reading `queuePrefix` throws {@link InvalidArgumentError}: the construct's default prefix is
 * `<stackName>_`, which the context cannot know, and the stack's IAM allows no other queue names,
 * so Queue and Pipe fail on their first operation with what to set instead of on an AccessDenied.
 */
export function contextSyncEnv(s: Settings, resources: () => Promise<StackResources>): AwsSyncEnv {
  let found: StackResources | undefined;
  let made: Promise<AwsSyncClients> | undefined;
  const known = (field: 'table' | 'bucket'): string => {
    const r = found ?? s.resources;
    if (r) return r[field];
    throw new ProtocolError(
      `The stack's ${field} is read on the primitives' first operation: await env.clients() before reading env.${field}`,
    );
  };
  return {
    get table() {
      return known('table');
    },
    get bucket() {
      return known('bucket');
    },
    get queuePrefix() {
      known('table');
      const prefix = (s.resources ?? found)?.queuePrefix;
      if (prefix !== undefined) return prefix;
      if (s.resources) {
        throw new InvalidArgumentError(
          "Queue and Pipe on a context given options.resources need resources.queuePrefix: the stack output FanfoldQueuePrefix (the construct's default is '<stackName>_'; the stack's IAM allows queues under that prefix only)",
        );
      }
      return DEFAULT_QUEUE_PREFIX;
    },
    clients(): Promise<AwsSyncClients> {
      if (made) return made;
      const attempt = (async () => {
        found = await resources();
        return (await loadSdk(() => import('./connect.js'))).syncClients(s);
      })();
      made = attempt;
      // A failed lookup (a stack not deployed yet) is tried again by the next operation.
      attempt.catch(() => {
        if (made === attempt) made = undefined;
      });
      return attempt;
    },
    leaseMs: LEASE_MS,
    pollMs: s.pollMs ?? POLL_MS,
  };
}

/**
 * The launcher of the context's processes: each is a job of one item, flagged as a process so
 * that the worker runs it on a thread of its own named as the process (a process that waits for
 * another never waits behind it in a container's shared threads). `runtime()` gives the context's
 * process runtime, made on first use; `terminate()` cancels the job (its running chunk stops).
 */
export function awsLauncher(runtime: () => PoolRuntime): ProcessLauncher {
  return async (target, args, name, handles) => {
    const rt = runtime();
    // The stack's outputs first: the job names its worker count, known only once they are read.
    await rt.ready();
    const { client } = rt;
    const pid = randomUUID();
    let submitted!: () => void;
    const onProgress = new Promise<void>((resolve) => {
      submitted = resolve;
    });
    const ended = client
      .map('starmap', target, [args], {
        chunksize: 1,
        jobId: pid,
        process: name,
        handles,
        onProgress: () => submitted(),
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    // start() returns once the job exists (its first progress), as CPython's once the child is
    // spawned: a terminate() right after it then finds the job to cancel.
    await Promise.race([onProgress, ended]);
    let terminating = false;
    return {
      pid,
      // A warm worker may finish the run while the cancel travels through the coordinator: a run
      // that the caller terminated before it saw the end ends as terminated (-15) all the same,
      // as CPython's terminate() right after start() finds its child still running.
      ended: ended.then((e) =>
        terminating && e === undefined ? new JobCancelledError(pid, 'the process was terminated') : e,
      ),
      async terminate() {
        terminating = true;
        await client.cancel(pid, 'the process was terminated');
      },
    };
  };
}
