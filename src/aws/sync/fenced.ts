/**
 * Writes under a lock: while this party holds the lock guarding a `Value` or `Array`, each write
 * is a TransactWriteItems of a ConditionCheck on the lock's current token (see `fenceCheck`) and
 * the update, so a holder whose lease was taken over cannot write under the new holder's lock:
 * the transaction is cancelled and the write throws {@link LeaseLostError}. Otherwise a write is one
 * conditional UpdateItem. Costs: 1 UpdateItem unfenced; 1 TransactWriteItems fenced (2 write units
 * per item touched, DynamoDB's transactional price).
 */

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { backoff } from '../../backoff.js';
import { LeaseLostError } from '../../errors.js';
import { Expr } from '../dynamo-items.js';
import { type AwsSyncEnv, sdk } from './env.js';
import { cancellationReasons, conditionalUpdate, updateInput } from './items.js';
import { type AwsLeaseLock, fenceCheck } from './locks.js';

type Item = Record<string, AttributeValue>;

/** An update: what to SET, the rest (ADD/REMOVE), and its own condition. */
export interface UpdateSpec {
  readonly sets: readonly string[];
  readonly rest: string;
  readonly condition?: string;
}

/** Attempts of a transaction cancelled by a conflict with another transaction. */
const CONFLICT_ATTEMPTS = 8;

/** Whether writes to a primitive guarded by `lock` are fenced now (this party holds it, or held it and has not released). */
export function fencing(lock: AwsLeaseLock | undefined): lock is AwsLeaseLock {
  return lock?.lease !== undefined;
}

/**
 * Runs the update `build` describes on `key`, fenced when this party holds `lock`. Resolves false
 * when the update's own condition refused it; throws {@link LeaseLostError} when the fence did.
 */
export async function guardedUpdate(
  env: AwsSyncEnv,
  key: Item,
  lock: AwsLeaseLock | undefined,
  build: (x: Expr) => UpdateSpec,
): Promise<boolean> {
  const x = new Expr();
  const { sets, rest, condition } = build(x);
  if (!fencing(lock)) return (await conditionalUpdate(env, key, x, sets, rest, condition, 'UPDATED_NEW')).ok;
  const { TransactWriteItemsCommand } = await sdk.dynamo();
  const { dynamo } = await env.clients();
  const guard = fenceCheck(lock);
  const update = {
    ...updateInput(env, key, x, sets, rest, condition),
    ReturnValuesOnConditionCheckFailure: 'NONE' as const,
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await dynamo.send(new TransactWriteItemsCommand({ TransactItems: [guard, { Update: update }] }));
      return true;
    } catch (e) {
      const reasons = cancellationReasons(e);
      if (!reasons) throw e;
      if (reasons[0]?.Code === 'ConditionalCheckFailed') {
        lock.lease?.end('taken');
        throw new LeaseLostError(`${lock.kind} ${lock.id}`, lock.fence ?? 0);
      }
      if (reasons[1]?.Code === 'ConditionalCheckFailed') return false;
      // Cancelled by a concurrent transaction on the same items: retry a few times, then give up.
      if (attempt + 1 >= CONFLICT_ATTEMPTS) throw e;
      await backoff(attempt, env.pollMs);
    }
  }
}
