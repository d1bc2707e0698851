/** Wires the in-memory adapters into one {@link Backend}: the local pool's, and the engine tests'. */
import type { Backend } from '../ports.js';
import { FileObjectReader } from './file-reader.js';
import { MemoryBlobStore } from './memory-blobs.js';
import { MemoryFanoutLedger } from './memory-fanout.js';
import { MemoryQueue } from './memory-queue.js';
import { MemoryJobStore } from './memory-store.js';

/** Options of {@link memoryBackend}; each passes through to the adapter named. */
export interface MemoryBackendOptions {
  /** Default visibility timeout of both queues. @default 30_000 */
  readonly visibilityMs?: number;
  /** Deliveries of a message before it moves to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** {@link WorkQueue.maxPayloadBytes} of both queues. @default 3/4 of maxMessageBytes (768 KiB) */
  readonly maxPayloadBytes?: number;
  /** Largest serialized message on either queue. @default 1_048_576 (SQS's 1 MiB) */
  readonly maxMessageBytes?: number;
  /** {@link JobStore.maxInlineBytes}. @default 358_400 (350 KiB) */
  readonly maxInlineBytes?: number;
  /** The time source of the queues and the store, in epoch ms. @default Date.now */
  readonly clock?: () => number;
}

/** The in-memory backend, with the concrete adapters exposed for fault injection. */
export interface MemoryBackend extends Backend {
  readonly queue: MemoryQueue;
  readonly deadLetters: MemoryQueue;
  readonly store: MemoryJobStore;
  readonly blobs: MemoryBlobStore;
  /** Reads the files of `lines()` jobs. */
  readonly objects: FileObjectReader;
  /** The fan-out tree's progress. */
  readonly fanout: MemoryFanoutLedger;
  /** Closes both queues and the store: pending receives resolve `[]`, pending waits resolve. */
  close(): void;
}

/**
 * Creates a work queue, its dead-letter queue, a job store and a blob store in memory.
 *
 * @example
 * ```ts
 * const backend = memoryBackend({ visibilityMs: 5_000, maxReceiveCount: 3 });
 * try { await runJob(backend); } finally { backend.close(); }
 * ```
 */
export function memoryBackend(options: MemoryBackendOptions = {}): MemoryBackend {
  const { visibilityMs, maxReceiveCount, maxPayloadBytes, maxMessageBytes, maxInlineBytes, clock } = options;
  const queueOptions = { visibilityMs, maxPayloadBytes, maxMessageBytes, clock };
  const deadLetters = new MemoryQueue(queueOptions);
  const queue = new MemoryQueue({ ...queueOptions, maxReceiveCount, deadLetter: deadLetters });
  const store = new MemoryJobStore({ maxInlineBytes, clock });
  const blobs = new MemoryBlobStore();
  return {
    queue,
    deadLetters,
    store,
    blobs,
    objects: new FileObjectReader(),
    fanout: new MemoryFanoutLedger(clock ? { clock } : {}),
    close() {
      queue.close();
      deadLetters.close();
      store.close();
    },
  };
}
