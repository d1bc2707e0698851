/**
 * Drain mode of the worker Lambda. Besides the batches its SQS event source mapping hands it, the
 * worker can be invoked directly, asynchronously, with a {@link DrainEvent}: a coordinator that has
 * just sent chunks fires many such invocations, and Lambda starts up to 1,000 execution
 * environments per 10 s for them, where the mapping adds about 300 concurrent invocations a minute.
 * A drain runs the engine host's own receive loop on the work queue (the same steps as the local
 * context's host: receive with the short visibility, run, record once, acknowledge) until the queue
 * stays empty for {@link DRAIN_IDLE_POLLS} long polls, or until its time budget (the invocation's
 * remaining time less the hand-back margin) ends; then what it holds unfinished is handed back,
 * visible at once. The mapping keeps the steady state and the durability: a drain is only a faster
 * start, and a lost or duplicated drain event changes nothing but the pace.
 */
import type { Host } from '../../engine/host.js';
import { parseDrainEvent } from '../../engine/protocol.js';
import { RECEIVE_MAX } from '../../engine/receive-loop.js';

/** Long polls in a row that must find the queue empty (with nothing in flight) before a drain ends. */
export const DRAIN_IDLE_POLLS = 2;
/** Each long poll of a drain, ms: the queue has stayed empty for about twice this when a drain ends. */
export const DRAIN_WAIT_MS = 1_000;
/**
 * Chunk messages a draining worker holds at once: a full receive (ten, SQS's most) beyond one per
 * thread, so that it receives ten more when its threads are about to run out of chunks, and each
 * receive, delete and shard-counter write carries ten chunks. The chunks its threads cannot start
 * at once wait in the worker, held and renewed with the rest. The drains fired for a job share
 * its chunks because the coordinator fires no more of them than the job has batches of ten
 * (`engine/fanout.ts`, chunksPerWorker), not because each takes few.
 */
export function drainCapacity(threads: number): number {
  return RECEIVE_MAX + Math.max(1, threads);
}

/** Whether `event` claims to be a drain event (then {@link parseDrainEvent} checks the rest). */
export function isDrainEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { type?: unknown }).type === 'drain';
}

/** Checks a drain event (`engine/protocol.ts`, where the coordinator's side is checked too). */
export { parseDrainEvent };

/** What a drain did: the Lambda's response to a drain event (nobody reads it but logs and tests). */
export interface DrainReport {
  /** Why it stopped: the queue stayed empty, or the time budget ended. */
  readonly ended: 'idle' | 'deadline';
  /** Messages it received. */
  readonly received: number;
  /** Messages it handed back unfinished at the deadline. */
  readonly handedBack: number;
}

/** Options of {@link drainQueue}. */
export interface DrainOptions {
  /** Epoch ms at which the drain stops and hands back what it holds. @default none */
  readonly deadline?: number;
  /** The time limit the deadline comes from, for the chunks' error note. */
  readonly limitMs?: number;
  /** Empty long polls in a row that end the drain. @default DRAIN_IDLE_POLLS */
  readonly idlePolls?: number;
}

/**
 * Runs `host`'s own receive loop until the queue stays empty or `deadline`; then stops it, after
 * handing back (at the deadline) what it holds. The host must be one whose backend's queue is the
 * real work queue (not an event source mapping's batch).
 */
export async function drainQueue(host: Host, options: DrainOptions = {}): Promise<DrainReport> {
  const before = host.received;
  host.start();
  let timer: NodeJS.Timeout | undefined;
  const { deadline } = options;
  const late =
    deadline === undefined
      ? undefined
      : new Promise<'deadline'>((r) => {
          timer = setTimeout(() => r('deadline'), Math.max(0, deadline - Date.now()));
        });
  const quiet = host.idle(options.idlePolls ?? DRAIN_IDLE_POLLS).then(() => 'idle' as const);
  const ended = await (late ? Promise.race([quiet, late]) : quiet);
  clearTimeout(timer);
  const handedBack =
    ended === 'deadline'
      ? await host.handBack(options.limitMs === undefined ? {} : { limitMs: options.limitMs })
      : [];
  await host.stop();
  return { ended, received: host.received - before, handedBack: handedBack.length };
}
