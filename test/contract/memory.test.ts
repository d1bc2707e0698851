/** Runs the port contract suites against the in-memory adapters. */

import { memoryBackend } from '../../src/local/memory-backend.js';
import { MemoryBlobStore } from '../../src/local/memory-blobs.js';
import { MemoryFanoutLedger } from '../../src/local/memory-fanout.js';
import { MemoryJobStore } from '../../src/local/memory-store.js';
import { describeBlobStoreContract } from './blob-store.contract.js';
import { describeFanoutLedgerContract } from './fanout-ledger.contract.js';
import { describeJobCompletionContract } from './job-completion.contract.js';
import { describeJobListContract } from './job-list.contract.js';
import { describeJobStoreContract, type MakeJobStore } from './job-store.contract.js';
import { describeWorkQueueContract } from './work-queue.contract.js';

describeWorkQueueContract('memory', async ({ visibilityMs, maxReceiveCount }) => {
  const backend = memoryBackend({ visibilityMs, maxReceiveCount });
  return { queue: backend.queue, deadLetters: backend.deadLetters, close: () => backend.close() };
});

// The memory store does not shard: `smallShards` changes nothing.
const makeMemoryStore: MakeJobStore = async ({ maxInlineBytes, clock }) => {
  const store = new MemoryJobStore({ clock, ...(maxInlineBytes === undefined ? {} : { maxInlineBytes }) });
  return { store, close: () => store.close() };
};
describeJobStoreContract('memory', makeMemoryStore, { notifies: true });
describeJobCompletionContract('memory', makeMemoryStore);

describeJobListContract('memory', async ({ clock }) => {
  const store = new MemoryJobStore({ clock });
  return { store, close: () => store.close() };
});

describeBlobStoreContract('memory', async () => ({ blobs: new MemoryBlobStore(), close: () => {} }));

describeFanoutLedgerContract('memory', async () => new MemoryFanoutLedger());
