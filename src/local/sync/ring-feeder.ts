/**
 * The writing side of a ring in this thread: messages go straight into the ring when it has room
 * and no earlier message of this thread is still waiting; otherwise they wait, in order, in a
 * per-thread list that one loop writes out as room appears (CPython's queue feeder thread). Every
 * handle of the same ring in this thread shares one feeder, so a producer's messages keep their
 * order however many handles it holds. A pending list keeps the thread alive until written, as
 * CPython joins its feeder thread at exit.
 */
import { type Ring, WRITER_CLOSED } from './ring.js';
import { hold, release } from './ring-waits.js';

interface Pending {
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** One ring's messages waiting in this thread. */
export class Feeder {
  readonly #ring: Ring;
  readonly #pending: Pending[] = [];
  #running = false;
  #bytes = 0;

  constructor(ring: Ring) {
    this.#ring = ring;
  }

  /** Bytes of this thread's messages not yet (wholly) in the ring. */
  get backlogBytes(): number {
    return this.#bytes;
  }

  /**
   * Writes `bytes` after every message this thread gave before; resolves once it is in the ring
   * (at once on the fast path). A put need not await it; a pipe's send does.
   */
  send(bytes: Uint8Array): Promise<void> | undefined {
    if (!this.#running && this.#ring.tryWrite(bytes)) return undefined;
    return new Promise<void>((resolve, reject) => {
      // A copy: `bytes` may be the codec's reused buffer.
      this.#pending.push({ bytes: new Uint8Array(bytes), resolve, reject });
      this.#bytes += bytes.length;
      if (!this.#running) {
        this.#running = true;
        void this.#drain();
      }
    });
  }

  async #drain(): Promise<void> {
    hold();
    try {
      // Taken from the front by index (shift() is O(n): a backlog of many items would be O(n²)).
      let i = 0;
      for (let next = this.#pending[i]; next !== undefined; next = this.#pending[i]) {
        try {
          await this.#ring.write(next.bytes);
          next.resolve();
        } catch (e) {
          next.reject(e);
        }
        this.#bytes -= next.bytes.length;
        i++;
        if (i >= 1024 && i * 2 >= this.#pending.length) {
          this.#pending.splice(0, i);
          i = 0;
        }
      }
      this.#pending.length = 0;
    } finally {
      this.#running = false;
      release();
    }
  }
}

const feeders = new Map<number, Feeder>();

/** This thread's feeder of `ring`. */
export function feederOf(ring: Ring): Feeder {
  let f = feeders.get(ring.at);
  if (f === undefined) {
    f = new Feeder(ring);
    feeders.set(ring.at, f);
  }
  return f;
}

/** Marks the sending side of `ring` closed (a pipe end's close). */
export function closeWriter(ring: Ring): void {
  ring.setFlags(WRITER_CLOSED);
}
