/**
 * What makes a caller "go away" in the attach scenario: once `leave()` is called, every call made
 * through the wrapped thing hangs (the job goes on without its caller); `end()` rejects the hung
 * calls and every later one, so the abandoned pool can finish and be terminated.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Pool, type PoolRuntime } from '../../src/api/pool.js';
import { JobClient } from '../../src/engine/client.js';
import { Coordinator } from '../../src/engine/coordinator.js';
import type { LocalRuntime } from '../../src/local/runtime.js';
import type { JobStore } from '../../src/ports.js';
import type { Tasks } from './pool-scenarios.js';

const GONE = 'the caller went away (test)';

/** A switch that turns calls into hangs, then into rejections. */
export class Leaving {
  #state: 'here' | 'gone' | 'ended' = 'here';
  readonly #hung: ((e: Error) => void)[] = [];

  leave(): void {
    if (this.#state === 'here') this.#state = 'gone';
  }

  end(): void {
    this.#state = 'ended';
    for (const reject of this.#hung.splice(0)) reject(new Error(GONE));
  }

  /** Runs `call` while the caller is here; hangs while it is gone; rejects once ended. */
  run<X>(call: () => Promise<X>): Promise<X> {
    if (this.#state === 'here') return call();
    if (this.#state === 'ended') return Promise.reject(new Error(GONE));
    return new Promise<X>((_, reject) => this.#hung.push(reject));
  }
}

/** A DynamoDB client whose sends go through `leaving` (the `aws` context accepts any client with `send`). */
export function leavingDynamoClient(
  options: ConstructorParameters<typeof DynamoDBClient>[0],
  leaving: Leaving,
) {
  const real = new DynamoDBClient(options ?? {});
  const client = Object.create(real) as DynamoDBClient;
  client.send = ((...args: Parameters<DynamoDBClient['send']>) =>
    leaving.run(() =>
      (real.send as (...a: unknown[]) => Promise<unknown>)(...args),
    )) as DynamoDBClient['send'];
  return { client, destroy: () => real.destroy() };
}

/**
 * A second caller of a local pool's backend (the same queue, store and blobs; no threads of its
 * own): a pool whose job store reads go through `leaving`, while `rt`'s threads run its jobs.
 */
export function leavingLocalPool(rt: LocalRuntime, leaving: Leaving): Pool<Tasks> {
  const coordinator = new Coordinator(rt.backend);
  const real = rt.backend.store;
  const store = new Proxy(real, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) =>
        leaving.run(() => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  }) as JobStore;
  const client = new JobClient({
    coordinator: (req) => coordinator.handle(req),
    store,
    blobs: rt.backend.blobs,
    processes: rt.processes,
    jobTimeoutMs: 60_000,
    window: rt.processes * 8,
  });
  const runtime: PoolRuntime = {
    client,
    processes: rt.processes,
    taskNames: rt.taskNames,
    chunksize: undefined,
    ready: () => rt.ready(),
    shutdown: async () => {},
  };
  return new Pool<Tasks>(runtime);
}
