/**
 * What the parts of one worker host share: whether the host still lives (a dead host writes and
 * acknowledges nothing more, as a killed process would not), the points where a fault-injection
 * test may kill it, and the jobs it knows to have ended. `host.ts` runs the loop; the finaliser,
 * the recorder and the process runs check the same life before each write.
 */
import type { WorkMessage } from '../ports.js';

/**
 * The points between the host's steps where a fault-injection test can make it die. `started`: a
 * `Process` chunk's run was claimed (`JobStore.claimRun`), just before it runs.
 */
export type HostStep = 'received' | 'started' | 'ran' | 'recorded' | 'claimed' | 'folded' | 'finished';

/** Fault injection for tests: return true to make the host die right after `step`. */
export interface FaultPlan {
  crashAt(step: HostStep, message: WorkMessage): boolean;
}

/** Thrown inside the host when a fault plan kills it; never escapes. */
export const CRASH: unique symbol = Symbol('host crashed');

/** The job statuses after which nothing of the job runs any more. */
export const ENDED: ReadonlySet<string> = new Set(['DONE', 'FAILED', 'CANCELLED']);

/** Jobs remembered as ended: enough for every job a host sees at once, bounded for a long life. */
const MAX_ENDED = 10_000;

/** One host's life and memory; see the module comment. */
export class HostLife {
  #dead = false;
  readonly #faults: FaultPlan | undefined;
  readonly #die: () => void;
  /** Jobs known to have ended: their chunks are acknowledged without running. */
  readonly #ended = new Set<string>();

  /** `die` stops the host's loop when a fault plan kills it. */
  constructor(faults: FaultPlan | undefined, die: () => void) {
    this.#faults = faults;
    this.#die = die;
  }

  /** True once the host was killed. */
  get dead(): boolean {
    return this.#dead;
  }

  /** Marks the host dead: every later {@link live} throws. */
  kill(): void {
    this.#dead = true;
  }

  /** Throws {@link CRASH} once the host is dead: called before every write. */
  live(): void {
    if (this.#dead) throw CRASH;
  }

  /** Marks `step` done for message `m`; the fault plan may kill the host right there. */
  step(step: HostStep, m: WorkMessage): void {
    this.live();
    if (this.#faults?.crashAt(step, m)) {
      this.#die();
      throw CRASH;
    }
  }

  /** Remembers that the job has ended (the oldest memory goes first past {@link MAX_ENDED}). */
  noteEnded(jobId: string): void {
    this.#ended.add(jobId);
    if (this.#ended.size > MAX_ENDED) this.#ended.delete(this.#ended.values().next().value as string);
  }

  /** Whether the job is known to have ended. */
  hasEnded(jobId: string): boolean {
    return this.#ended.has(jobId);
  }
}
