/**
 * The primitives contract (test/contract/primitives) on the local context: shared memory and
 * Atomics; the second party is a worker thread on the same arena.
 */
import { afterAll, beforeAll } from 'vitest';
import { localPrimitives, reviveLocal } from '../../src/local/sync/index.js';
import { describePrimitivesContract } from '../contract/primitives/index.js';
import { bundlePartyThread, startLocalParty } from '../contract/primitives/local-party.js';

let script: Awaited<ReturnType<typeof bundlePartyThread>> | undefined;
beforeAll(async () => {
  script = await bundlePartyThread();
});
afterAll(async () => {
  await script?.dispose();
});

describePrimitivesContract('local', {
  ctx: 'local',
  primitives: localPrimitives,
  revive: <T>(handle: Parameters<typeof reviveLocal>[0]) => reviveLocal(handle) as T,
  party: async () => startLocalParty(script!.url),
});
