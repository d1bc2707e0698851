/**
 * The host's visibility heartbeat: while chunks run, their messages are kept invisible, one round
 * at a time, each round ONE batched `setVisibility` call for every held message. A queue service
 * that answers slowly (an emulator on a loaded machine) must not get a new round every third of
 * the visibility on top of the ones still waiting: those rounds piled up by the thousand and
 * starved the acknowledgements.
 *
 * The heartbeat's interval runs on vitest's fake timers; everything else (the in-memory queue's
 * receive waits, the chunks) runs on real time, and the test waits only for events.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Coordinator } from '../../src/engine/coordinator.js';
import type { ChunkExecutor } from '../../src/engine/executor.js';
import { Host } from '../../src/engine/host.js';
import type { ChunkOutcome } from '../../src/engine/run-chunk.js';
import { type MemoryBackend, memoryBackend } from '../../src/local/memory-backend.js';
import type { WorkQueue } from '../../src/ports.js';

const VISIBILITY_MS = 300;
const CHUNKS = 8;

/** A promise with its resolver. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Holds every chunk until `release()`; `started` resolves once `CHUNKS` chunks are running. */
class GatedExecutor implements ChunkExecutor {
  readonly parallelism = 2;
  readonly batching = true;
  readonly gate = deferred();
  readonly started = deferred();
  #running = 0;

  async run(chunks: readonly unknown[]): Promise<ChunkOutcome[]> {
    this.#running += chunks.length;
    if (this.#running >= CHUNKS) this.started.resolve();
    await this.gate.promise;
    throw new Error('the test ends before any chunk finishes');
  }
  fold(): Promise<ChunkOutcome> {
    throw new Error('not used');
  }
  cancelJob(): void {}
}

/** A queue whose visibility extensions wait until the test answers them. */
function slowExtensions(inner: WorkQueue) {
  const waiting: (() => void)[] = [];
  const rounds: number[] = [];
  const queue: WorkQueue = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'setVisibility')
        return (receipts: readonly string[], ms: number) => {
          if (ms === 0) return target.setVisibility(receipts, ms);
          rounds.push(receipts.length);
          const answer = deferred();
          waiting.push(answer.resolve);
          return answer.promise;
        };
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    queue,
    /** The receipts of each extension call, in order. */
    rounds: () => [...rounds],
    answerAll() {
      for (const r of waiting.splice(0)) r();
    },
  };
}

let backend: MemoryBackend | undefined;
let host: Host | undefined;
let executor: GatedExecutor | undefined;
afterEach(() => {
  host?.kill();
  executor?.gate.resolve();
  backend?.close();
  vi.useRealTimers();
});

describe('Host', () => {
  describe('visibility heartbeat', () => {
    it('starts no new round while the last one is unanswered, and goes on once it is', async () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      backend = memoryBackend({ visibilityMs: VISIBILITY_MS });
      const slow = slowExtensions(backend.queue);
      executor = new GatedExecutor();
      await new Coordinator(backend).handle({
        v: 1,
        type: 'submit',
        jobId: 'heartbeat',
        kind: 'map',
        task: 'square',
        input: { kind: 'range', start: 0, stop: CHUNKS * 4, step: 1 },
        workers: 2,
        chunksize: 4,
        deadline: Date.now() + 600_000,
      });
      host = new Host({
        backend: { ...backend, queue: slow.queue },
        executor,
        visibilityMs: VISIBILITY_MS,
        leaseMs: 10_000,
      });
      host.start();
      await executor.started.promise;

      // Thirty heartbeat periods pass while the first round's answer is outstanding: one call,
      // for every message in flight.
      vi.advanceTimersByTime(VISIBILITY_MS * 10);
      expect(slow.rounds()).toEqual([CHUNKS]);

      // Once answered, the next period starts the next round, for every message still in flight.
      slow.answerAll();
      await new Promise((r) => setImmediate(r));
      vi.advanceTimersByTime(VISIBILITY_MS / 3);
      expect(slow.rounds()).toEqual([CHUNKS, CHUNKS]);
    });
  });
});
