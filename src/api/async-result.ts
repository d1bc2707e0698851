/**
 * `AsyncResult`, as returned by CPython's `apply_async` / `map_async`: a handle on a result that
 * may not be ready yet, with `get(timeout)`, `wait(timeout)`, `ready()` and `successful()`.
 */
import { type InvalidArgumentError, NotReadyError, TimeoutError } from '../errors.js';
import { optionalTimeout } from '../validate.js';

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

  /**
   * Waits until the result is ready or `timeoutMs` passes (a negative timeout counts as 0, as in
   * CPython). Never throws the call's error; rejects with {@link InvalidArgumentError} for a
   * timeout that is not a finite number.
   */
  async wait(timeoutMs?: number): Promise<void> {
    const t = optionalTimeout(timeoutMs);
    if (t === undefined) return this.#settled;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#settled, new Promise<void>((r) => (timer = setTimeout(r, t)))]);
    clearTimeout(timer);
  }

  /**
   * The result, waiting up to `timeoutMs` (a negative timeout counts as 0, as in CPython). Rejects
   * with the call's error, with {@link TimeoutError} if it is not ready in time, or with
   * {@link InvalidArgumentError} for a timeout that is not a finite number.
   */
  async get(timeoutMs?: number): Promise<R> {
    const t = optionalTimeout(timeoutMs);
    await this.wait(t);
    const st = this.#state;
    if (st.s === 'ok') return st.value;
    if (st.s === 'err') throw st.error;
    throw new TimeoutError(`The result was not ready within ${t} ms`);
  }
}
