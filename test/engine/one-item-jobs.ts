/**
 * A job of one-item chunks (`square` of 0..n-1) submitted on the in-memory adapters, its chunk
 * messages on the queue: the host tests' common start.
 */
import { Coordinator } from '../../src/engine/coordinator.js';
import type { Backend } from '../../src/ports.js';

/** Submits job `jobId` of `n` one-item chunks through the coordinator (no invoker: it sends them itself). */
export async function submitSquares(backend: Backend, n: number, jobId = 'job'): Promise<void> {
  await new Coordinator(backend).handle({
    v: 1,
    type: 'submit',
    jobId,
    kind: 'map',
    task: 'square',
    input: { kind: 'range', start: 0, stop: n, step: 1 },
    workers: 2,
    chunksize: 1,
    deadline: Date.now() + 600_000,
  });
}
