/**
 * `AsyncResult`, as returned by CPython's `apply_async` / `map_async`: a handle on a result that
 * may not be ready yet, with `get(timeout)`, `wait(timeout)`, `ready()` and `successful()`.
 */
import { NotReadyError, TimeoutError } from '../errors.js';

/** Callbacks of `applyAsync` / `mapAsync` / `starmapAsync`. */
export interface AsyncCallbacks<R> {
  /** Called with the result once it is ready (not called on failure). */
  readonly callback?: (result: R) => void;
  /** Called with the error if the call fails. */
  readonly errorCallback?: (error: unknown) => void;
}

type State<R> = { s: 'pending' } | { s: 'ok'; value: R } | { s: 'err'; error: unknown };

/** The pending result of an asynchronous pool call. */
export class AsyncResult<R> {
  #state: State<R> = { s: 'pending' };
  readonly #settled: Promise<void>;
  /**
   * The id of the pool job computing the result, known at once: pass it to `pool.inspect`,
   * `pool.cancel`, `pool.attach` (from this process or another) or `fanfold status`.
   */
  readonly jobId: string;

  /** @internal Created by the pool. */
  constructor(work: Promise<R>, callbacks: AsyncCallbacks<R> = {}, jobId = '') {
    this.jobId = jobId;
    this.#settled = work.then(
      (value) => {
        this.#state = { s: 'ok', value };
        callbacks.callback?.(value);
      },
      (error: unknown) => {
        this.#state = { s: 'err', error };
        callbacks.errorCallback?.(error);
      },
    );
  }

  /** True once the call has completed (successfully or not). */
  ready(): boolean {
    return this.#state.s !== 'pending';
  }

  /** Whether the call completed without an error. Throws {@link NotReadyError} before it is ready. */
  successful(): boolean {
    if (this.#state.s === 'pending') throw new NotReadyError();
    return this.#state.s === 'ok';
  }

  /** Waits until the result is ready or `timeoutMs` passes. Never throws the call's error. */
  async wait(timeoutMs?: number): Promise<void> {
    if (timeoutMs === undefined) return this.#settled;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#settled,
      new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, timeoutMs)))),
    ]);
    clearTimeout(timer);
  }

  /**
   * The result, waiting up to `timeoutMs`. Rejects with the call's error, or with
   * {@link TimeoutError} if it is not ready in time.
   */
  async get(timeoutMs?: number): Promise<R> {
    await this.wait(timeoutMs);
    const st = this.#state;
    if (st.s === 'ok') return st.value;
    if (st.s === 'err') throw st.error;
    throw new TimeoutError(`The result was not ready within ${timeoutMs} ms`);
  }
}
