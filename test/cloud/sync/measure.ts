/**
 * For the AWS primitives' tests: an environment whose DynamoDB requests are counted (to assert what
 * an operation costs, and to wait for a party's n-th request to have been answered instead of
 * sleeping).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AwsSyncEnv } from '../../../src/aws/sync/env.js';

/** An environment that counts the DynamoDB requests made through it. */
export interface CountingEnv {
  readonly env: AwsSyncEnv;
  /** Requests sent since the last reset. */
  count(): number;
  reset(): void;
  /** Resolves once `n` requests sent since the last reset have been answered. */
  answered(n: number): Promise<void>;
  /**
   * Holds back request number `n` (1-based, since the last reset) until `open()`: `reached`
   * resolves when it is about to be sent. Puts a party between two of its steps, without sleeping.
   */
  hold(n: number): { readonly reached: Promise<void>; open(): void };
}

/** Wraps `base`'s DynamoDB client so that every `send` is counted. */
export function countingEnv(base: AwsSyncEnv): CountingEnv {
  let sent = 0;
  let done = 0;
  let waiters: { n: number; resolve: () => void }[] = [];
  const gates = new Map<number, { reach: () => void; opened: Promise<void> }>();
  const settle = (): void => {
    const ready = waiters.filter((w) => done >= w.n);
    waiters = waiters.filter((w) => done < w.n);
    for (const w of ready) w.resolve();
  };
  const env: AwsSyncEnv = {
    ...base,
    clients: async () => {
      const c = await base.clients();
      const dynamo = {
        send: async (...args: Parameters<DynamoDBClient['send']>) => {
          sent++;
          const gate = gates.get(sent);
          if (gate) {
            gates.delete(sent);
            gate.reach();
            await gate.opened;
          }
          try {
            return await (c.dynamo.send as (...a: unknown[]) => Promise<unknown>)(...args);
          } finally {
            done++;
            settle();
          }
        },
      } as unknown as DynamoDBClient;
      return { ...c, dynamo };
    },
  };
  return {
    env,
    count: () => sent,
    reset: () => {
      sent = 0;
      done = 0;
    },
    answered: (n) =>
      new Promise<void>((resolve) => {
        waiters.push({ n, resolve });
        settle();
      }),
    hold: (n) => {
      let reach!: () => void;
      let open!: () => void;
      const reached = new Promise<void>((r) => {
        reach = r;
      });
      const opened = new Promise<void>((r) => {
        open = r;
      });
      gates.set(n, { reach, opened });
      return { reached, open };
    },
  };
}
