/**
 * The primitives contract (test/contract/primitives) on the AWS context, on moto: DynamoDB
 * conditional writes and SQS. The second party is a second environment on the same table, bucket and
 * queue prefix (another owner identity); the lease tests cut a holder's DynamoDB requests off so
 * that its renewals stop, as if it had died, then let it come back stale.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll } from 'vitest';
import { createDynamoClient } from '../../src/aws/clients.js';
import type { AwsSyncEnv } from '../../src/aws/sync/env.js';
import { awsPrimitives, awsReviver } from '../../src/aws/sync/index.js';
import type { Shareable, SyncHandle } from '../../src/handles.js';
import {
  type CuttableHolder,
  callPath,
  handleOf,
  type Party,
  PartyError,
} from '../contract/primitives/harness.js';
import { describePrimitivesContract } from '../contract/primitives/index.js';
import { useSyncEnv } from './sync-env.js';

const cloud = await useSyncEnv();
/**
 * The holder's lease in the lease tests: short, so that its expiry takes a fraction of a second
 * on a quiet machine; scaled with the emulator's pace, so that a live holder's renewals keep up.
 */
const HOLDER_LEASE_MS = cloud.scaled(600);

let first: AwsSyncEnv | undefined;
/** The first party's environment, made on first use (inside a test). */
const firstEnv = () => {
  first ??= cloud.env();
  return first;
};
/** Another party: a new environment (new owner identity) on the same table, bucket and queue prefix. */
const secondEnv = (overrides: Partial<AwsSyncEnv> = {}) =>
  cloud.env({ queuePrefix: firstEnv().queuePrefix, ...overrides });

const ownClients: DynamoDBClient[] = [];
afterAll(() => {
  for (const c of ownClients.splice(0)) c.destroy();
});

function inProcessParty(env: AwsSyncEnv): Party {
  const revive = awsReviver(env);
  const revived = new Map<string, unknown>();
  return {
    async call<R>(target: Shareable, method: string, ...args: unknown[]): Promise<R> {
      const handle = handleOf(target);
      const key = JSON.stringify(handle);
      let live = revived.get(key);
      if (live === undefined) {
        live = revive(handle);
        revived.set(key, live);
      }
      try {
        return (await callPath(live, method, args)) as R;
      } catch (e) {
        const err = e as { name?: string; message?: string; code?: string };
        const wire = { name: err.name ?? 'Error', message: err.message ?? String(e) };
        throw new PartyError(err.code === undefined ? wire : { ...wire, code: err.code });
      }
    },
    async close() {},
  };
}

/** A holder whose DynamoDB requests fail while it is cut off (its lease renewals with them). */
function cuttableHolder(): CuttableHolder {
  const dynamo = createDynamoClient(cloud.emulators().clientOptions);
  ownClients.push(dynamo);
  let cut = false;
  const send = dynamo.send.bind(dynamo) as (...a: unknown[]) => Promise<unknown>;
  dynamo.send = ((...a: unknown[]) =>
    cut
      ? Promise.reject(Object.assign(new Error('cut off (test)'), { name: 'NetworkingError' }))
      : send(...a)) as typeof dynamo.send;
  const base = cloud.clients();
  const env = secondEnv({
    leaseMs: HOLDER_LEASE_MS,
    clients: async () => ({ dynamo, sqs: base.sqs, s3: base.s3 }),
  });
  const revive = awsReviver(env);
  return {
    revive: <T>(handle: SyncHandle) => revive(handle) as T,
    cut: () => {
      cut = true;
    },
    heal: () => {
      cut = false;
    },
    leaseMs: HOLDER_LEASE_MS,
  };
}

describePrimitivesContract('aws on moto', {
  ctx: 'aws',
  primitives: () => awsPrimitives(firstEnv()),
  revive: <T>(handle: SyncHandle) => awsReviver(secondEnv())(handle) as T,
  party: async () => inProcessParty(secondEnv()),
  leases: { holder: cuttableHolder },
  shortMs: cloud.scaled(150),
});
