/**
 * The local `Event`: one flag word in the arena; `set` stores 1 and wakes every waiter, `wait`
 * sleeps on the word while it holds 0.
 */
import type { PrimitiveModule } from '../../api/context.js';
import type { Event } from '../../api/synchronize.js';
import { deadlineOf } from '../../deadline.js';
import { ProtocolError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { optionalTimeout } from '../../validate.js';
import { allocWords, handleData, wordsAt } from './checks.js';
import { waitWord } from './futex.js';

const FLAG = 0;

/** A flag that parties wait on (see {@link Event}). */
export class LocalEvent implements Event {
  readonly kind = 'Event';
  readonly #at: number;
  readonly #w: Int32Array;

  /** @internal Use `ctx.Event()`; `at` names an existing event's word (revive). */
  constructor(at?: number) {
    noteShareable(this);
    if (at === undefined) ({ at, words: this.#w } = allocWords(1));
    else this.#w = wordsAt(at, 1, 'Event');
    this.#at = at;
  }

  async isSet(): Promise<boolean> {
    return Atomics.load(this.#w, FLAG) !== 0;
  }

  async set(): Promise<void> {
    Atomics.store(this.#w, FLAG, 1);
    Atomics.notify(this.#w, FLAG);
  }

  async clear(): Promise<void> {
    Atomics.store(this.#w, FLAG, 0);
  }

  async wait(timeoutMs?: number): Promise<boolean> {
    const deadline = deadlineOf(optionalTimeout(timeoutMs));
    for (;;) {
      if (Atomics.load(this.#w, FLAG) !== 0) return true;
      // A set() between the load and the wait makes waitAsync return 'not-equal' at once. Only
      // set() notifies, so a notified waiter returns true even if clear() came first (a pulse
      // wakes every waiter, as in threading.Event).
      const r = await waitWord(this.#w, FLAG, 0, deadline);
      if (r === 'ok') return true;
      if (r === 'timed-out') return Atomics.load(this.#w, FLAG) !== 0;
    }
  }

  [SHARE](): SyncHandle {
    return { $fanfold: 'handle', ctx: 'local', kind: 'Event', data: { at: this.#at } };
  }
}

/** `Event` of the local context. */
export const event: PrimitiveModule<void> = {
  make: () => ({ Event: () => new LocalEvent() }),
  revive: {
    Event: (h) => {
      const at = handleData(h.data, 'Event').at;
      if (typeof at !== 'number') throw new ProtocolError('Malformed Event handle: at is not a number');
      return new LocalEvent(at);
    },
  },
};
