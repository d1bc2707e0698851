/**
 * A group of small chunks shares one thread round trip, but each chunk's result is recorded as
 * soon as a thread reports it (in any order: idle threads take a busy one's unstarted chunks), not
 * when the whole group has run: `imapUnordered` yields a fast chunk without waiting for its slow
 * neighbour, and a thread that dies mid-group has the chunks it finished recorded and the one it
 * was running known. Results that arrive while a write is under
 * way, or in the same turn of the event loop, are recorded together by the next one (one
 * `completeChunks` call each), so a group of fast chunks still costs a few writes, not one per chunk.
 */
import type { ChunkOutcome } from './run-chunk.js';

/** A chunk that ran: its result and how it ran (for its attempt record). */
export type Ran = Required<Pick<Extract<ChunkOutcome, { ok: true }>, 'result' | 'run'>>;

/** Options of {@link GroupResults}. */
export interface GroupResultsOptions {
  /** Records the results of the group's chunks at positions `at` (one each), then settles them. */
  readonly record: (at: readonly number[], results: readonly Ran[]) => Promise<void>;
  /** True once the job has ended: nothing more is written (the messages are acknowledged). */
  readonly ended: () => boolean;
}

/** Records a group's results as they come, in batches; see the module comment. */
export class GroupResults {
  readonly #record: GroupResultsOptions['record'];
  readonly #ended: () => boolean;
  readonly #waiting: { readonly at: number; readonly ran: Ran }[] = [];
  readonly #recorded = new Set<number>();
  #writing: Promise<void> | undefined;
  /** The write waiting for the turn of the event loop to end. */
  #soon: NodeJS.Immediate | undefined;
  #failed: { readonly error: unknown } | undefined;

  constructor(options: GroupResultsOptions) {
    this.#record = options.record;
    this.#ended = options.ended;
  }

  /** The items of `group` (the group's chunks, in order) whose results are not recorded. */
  unrecorded<T>(group: readonly T[]): T[] {
    return group.filter((_, k) => !this.#recorded.has(k));
  }

  /** Takes the result of the chunk at position `at` and records it with what else is waiting. */
  add(at: number, result: Ran): void {
    if (this.#failed) return;
    this.#waiting.push({ at, ran: result });
    // Wait for the turn of the event loop to end: the reports that reached the port meanwhile
    // (a group of tiny chunks sends them back to back) go in the same write.
    if (this.#writing || this.#soon) return;
    this.#soon = setImmediate(() => this.flush());
  }

  /** Starts writing what waits now, without waiting for the turn of the event loop to end. */
  flush(): void {
    clearImmediate(this.#soon);
    this.#soon = undefined;
    // The drain starts a microtask later, so that #writing is set before it can end: a drain that
    // ends at once (the job had ended) clears #writing in its finally, which must come after this
    // assignment, or done() would wait on a settled promise for ever (a microtask spin).
    if (this.#waiting.length > 0) this.#writing ??= Promise.resolve().then(() => this.#drain());
  }

  /**
   * The job ended (failed or cancelled): results not being written yet are dropped, and later ones
   * ignored, so that the group's messages are acknowledged without waiting for writes no one needs.
   */
  abandon(): void {
    clearImmediate(this.#soon);
    this.#soon = undefined;
    this.#failed ??= { error: undefined };
    this.#waiting.length = 0;
  }

  /** Resolves once every result added is recorded; rejects with the first write's failure. */
  async done(): Promise<void> {
    this.flush();
    while (this.#writing) await this.#writing;
    if (this.#failed && this.#failed.error !== undefined) throw this.#failed.error;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        if (this.#ended()) return this.abandon();
        const batch = this.#waiting.splice(0);
        const at = batch.map((w) => w.at);
        await this.#record(
          at,
          batch.map((w) => w.ran),
        );
        for (const k of at) this.#recorded.add(k);
      }
    } catch (e) {
      // What is not recorded stays unacknowledged: its messages come back.
      this.#failed = { error: e };
      this.#waiting.length = 0;
    } finally {
      this.#writing = undefined;
    }
  }
}
