/**
 * Releasing jobs in the background (docs/protocol.md, step C7): a call returns as soon as it has
 * what it needs from its job, whatever the job's size, and the release (a tombstone on the job, a
 * bounded deletion of its blobs, which the coordinator continues by invoking itself, or the client
 * by asking again while it answers `more`) runs after it. A failed release is
 * reported to `onError`, never to the call: the job's records expire by TTL anyway, and the
 * bucket's lifecycle rule removes its blobs.
 */
import { FanfoldError } from '../errors.js';
import type { CoordinatorRequest, CoordinatorResponse } from './coordinator.js';

/** The releases a job client has started and that have not ended. */
export class Releases {
  readonly #coordinator: (req: CoordinatorRequest) => Promise<CoordinatorResponse>;
  readonly #onError: (error: unknown) => void;
  readonly #pending = new Set<Promise<void>>();

  constructor(
    coordinator: (req: CoordinatorRequest) => Promise<CoordinatorResponse>,
    onError: ((error: unknown) => void) | undefined,
  ) {
    this.#coordinator = coordinator;
    this.#onError = onError ?? warn;
  }

  /** Releases under way. */
  get size(): number {
    return this.#pending.size;
  }

  /** Starts releasing the job; returns at once. */
  start(jobId: string): void {
    const releasing = (async () => {
      // Each request deletes a bounded number of the job's blobs; a coordinator that can invoke
      // itself goes on alone, one that cannot says `more` and is asked again.
      for (;;) {
        const res = await this.#coordinator({ v: 1, type: 'release', jobId });
        if (!res.more) return;
      }
    })()
      .catch((e: unknown) => this.#onError(e))
      .finally(() => this.#pending.delete(releasing));
    this.#pending.add(releasing);
  }

  /** Resolves once every release started so far has ended (whatever its outcome). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }
}

/** The default `onError`: a process warning, as Node reports a problem that is no call's error. */
function warn(e: unknown): void {
  const code = e instanceof FanfoldError ? e.code : undefined;
  process.emitWarning(`fanfold: releasing a job failed: ${e instanceof Error ? e.message : String(e)}`, {
    type: 'FanfoldWarning',
    ...(code ? { code } : {}),
  });
}
