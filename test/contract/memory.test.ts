/** Runs the port contract suites against the in-memory adapters. */

import { memoryBackend } from '../../src/local/memory-backend.js';
import { MemoryBlobStore } from '../../src/local/memory-blobs.js';
import { MemoryFanoutLedger } from '../../src/local/memory-fanout.js';
import { MemoryJobStore } from '../../src/local/memory-store.js';
import { describeBlobStoreContract } from './blob-store.contract.js';
import { describeFanoutLedgerContract } from './fanout-ledger.contract.js';
import { describeJobListContract } from './job-list.contract.js';
import { describeJobStoreContract } from './job-store.contract.js';
import { describeWorkQueueContract } from './work-queue.contract.js';

describeWorkQueueContract('memory', async ({ visibilityMs, maxReceiveCount }) => {
  const backend = memoryBackend({ visibilityMs, maxReceiveCount });
  return { queue: backend.queue, deadLetters: backend.deadLetters, close: () => backend.close() };
});

describeJobStoreContract(
  'memory',
  async ({ maxInlineBytes, clock }) => {
    const store = new MemoryJobStore({ clock, ...(maxInlineBytes === undefined ? {} : { maxInlineBytes }) });
    return { store, close: () => store.close() };
  },
  { notifies: true },
);

describeJobListContract('memory', async ({ clock }) => {
  const store = new MemoryJobStore({ clock });
  return { store, close: () => store.close() };
});

describeBlobStoreContract('memory', async () => ({ blobs: new MemoryBlobStore(), close: () => {} }));

describeFanoutLedgerContract('memory', async () => new MemoryFanoutLedger());
