/**
 * A byte ring buffer in the shared arena carrying length-prefixed messages between threads: the
 * transport of the local `Queue`, `JoinableQueue`, `SimpleQueue` and `Pipe`.
 *
 * Writers take the write mutex for a whole message and readers the read mutex, so messages never
 * interleave and a message larger than the ring streams through in segments (the writer publishes
 * what fits, the reader consumes it, and so on): any size works and nothing is dropped or cut.
 * `head` and `tail` are byte counters that only grow (wrapping at 2^32); the capacity is a power of
 * two so that `counter & mask` stays continuous across that wrap. Sleepers are counted, and
 * `Atomics.notify` is called only when someone may sleep, which keeps the uncontended path to a few
 * atomic operations and one copy.
 *
 * A thread that dies in the middle of a message (terminated while its feeder streams one, or while
 * it reads one) leaves the ring's mutex held and the ring stuck, as a CPython queue is left corrupt
 * by a process killed while using it; items still in a dead thread's feeder are lost, as those in
 * a killed CPython process's feeder thread.
 */
import { FOREVER } from '../../deadline.js';
import { ClosedError, InvalidArgumentError, ProtocolError } from '../../errors.js';
import { arena } from './arena.js';
import { waitWord } from './futex.js';
import * as H from './ring-layout.js';
import { lock, tryLock, unlock } from './ring-waits.js';

export {
  READER_CLOSED,
  RING_BYTES,
  RING_HEADER_BYTES,
  RING_WORD,
  USER_WORD,
  WRITER_CLOSED,
} from './ring-layout.js';

/** What `read()` resolves when its deadline passed before a message began. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/** Turns the bytes `b[start, end)` of one message into a value (`b` may be shared memory: read, never keep). */
export type Decode<T> = (b: Buffer, start: number, end: number) => T;

/** A view, in this thread, of one ring in the arena. */
export class Ring {
  /** Byte offset of the ring's header in the arena. */
  readonly at: number;
  /** The header words (shared). */
  readonly words: Int32Array;
  readonly #data: Buffer;
  readonly #cap: number;
  readonly #mask: number;
  readonly #lenBuf = new Uint8Array(4);
  readonly #lenView = new DataView(this.#lenBuf.buffer);
  /** The length bytes of the frame this thread's feeder is writing (the reader uses the others). */
  readonly #wLenBuf = new Uint8Array(4);
  readonly #wLenView = new DataView(this.#wLenBuf.buffer);

  private constructor(at: number, cap: number) {
    const a = arena();
    this.at = at;
    this.words = a.i32(at, H.RING_HEADER_BYTES / 4);
    this.#data = Buffer.from(a.sab, at + H.RING_HEADER_BYTES, cap);
    this.#cap = cap;
    this.#mask = cap - 1;
  }

  /** Allocates a ring of `cap` data bytes (a power of two >= 64) tagged `tag` (which user it serves). */
  static create(tag: number, cap = H.RING_BYTES): Ring {
    if (!Number.isInteger(cap) || cap < 64 || cap > 2 ** 30 || (cap & (cap - 1)) !== 0) {
      throw new InvalidArgumentError(
        `Expected a ring capacity that is a power of two from 64 to 2^30, got ${cap}`,
      );
    }
    const at = arena().alloc(H.RING_HEADER_BYTES + cap);
    const w = arena().i32(at, H.RING_HEADER_BYTES / 4);
    Atomics.store(w, H.CAP, cap);
    Atomics.store(w, H.TAG, tag);
    Atomics.store(w, H.MAGIC, H.MAGIC_VALUE);
    return new Ring(at, cap);
  }

  /** Rebuilds a ring from a handle's offset, checking that a ring tagged `tag` lives there. */
  static revive(at: unknown, tag: number, what: string): Ring {
    const a = arena();
    a.check(at, H.RING_HEADER_BYTES, what);
    const w = a.i32(at as number, H.RING_HEADER_BYTES / 4);
    const cap = Atomics.load(w, H.CAP);
    if (Atomics.load(w, H.MAGIC) !== H.MAGIC_VALUE || Atomics.load(w, H.TAG) !== tag) {
      throw new InvalidArgumentError(`Malformed ${what} handle: no ${what} at offset ${String(at)}`);
    }
    a.check(at, H.RING_HEADER_BYTES + cap, what);
    return new Ring(at as number, cap);
  }

  /** Bytes published and not yet consumed. */
  available(): number {
    return (Atomics.load(this.words, H.TAIL) - Atomics.load(this.words, H.HEAD)) >>> 0;
  }

  flags(): number {
    return Atomics.load(this.words, H.FLAGS);
  }

  /** Sets flag bits and wakes every sleeper so that it re-checks them. */
  setFlags(bits: number): void {
    Atomics.or(this.words, H.FLAGS, bits);
    this.#bump(H.DATA_SEQ);
    this.#bump(H.SPACE_SEQ);
  }

  /** Writes the whole message now if the write mutex is free and it fits; false otherwise. */
  tryWrite(payload: Uint8Array): boolean {
    const w = this.words;
    const need = 4 + payload.length;
    if (need > this.#cap || !tryLock(w, H.W_LOCK)) return false;
    const tail = Atomics.load(w, H.TAIL);
    if (this.#cap - ((tail - Atomics.load(w, H.HEAD)) >>> 0) < need) {
      unlock(w, H.W_LOCK);
      return false;
    }
    this.#lenView.setUint32(0, payload.length, true);
    this.#copyIn(tail, this.#lenBuf, 0, 4);
    this.#copyIn(tail + 4, payload, 0, payload.length);
    Atomics.store(w, H.TAIL, (tail + need) | 0);
    unlock(w, H.W_LOCK);
    if (Atomics.load(w, H.DATA_WAITERS) > 0) this.#bump(H.DATA_SEQ);
    return true;
  }

  /** Takes the write mutex now if it is free (in the contended state: a feeder may sleep on it later). */
  tryLockWriter(): boolean {
    return Atomics.compareExchange(this.words, H.W_LOCK, 0, 2) === 0;
  }

  unlockWriter(): void {
    unlock(this.words, H.W_LOCK);
  }

  /** Resolves once the write mutex was seen free (the caller then tries to take it). */
  async waitWriterFree(): Promise<void> {
    const w = this.words;
    // Marks the mutex contended first, so that its holder's unlock notifies.
    if (Atomics.compareExchange(w, H.W_LOCK, 1, 2) === 0) return;
    await waitWord(w, H.W_LOCK, 2, FOREVER);
  }

  /**
   * With the write mutex held: writes as much of the frame of `payload` (4 length bytes, then the
   * payload) from frame byte `done` as fits now, and returns how far the frame is written. A frame
   * larger than the ring is written over several calls, as the reader frees room. Throws
   * {@link ClosedError} if the reading side closed.
   */
  writeSome(payload: Uint8Array, done: number): number {
    const w = this.words;
    if (this.flags() & H.READER_CLOSED) throw new ClosedError('The receiving end of the pipe is closed');
    const need = 4 + payload.length;
    const tail = Atomics.load(w, H.TAIL);
    const n = Math.min(this.#cap - ((tail - Atomics.load(w, H.HEAD)) >>> 0), need - done);
    if (n <= 0) return done;
    let pos = tail;
    let from = done;
    const end = done + n;
    if (from < 4) {
      this.#wLenView.setUint32(0, payload.length, true);
      const k = Math.min(4, end) - from;
      this.#copyIn(pos, this.#wLenBuf, from, k);
      pos += k;
      from += k;
    }
    if (from < end) this.#copyIn(pos, payload, from - 4, end - from);
    Atomics.store(w, H.TAIL, (tail + n) | 0);
    if (Atomics.load(w, H.DATA_WAITERS) > 0) this.#bump(H.DATA_SEQ);
    return end;
  }

  /**
   * Sleeps until `want` bytes are free or the reading side closed. A writer asks for a quarter of
   * the ring (or the rest of its message) rather than a byte, so that a slow reader wakes it once
   * per many messages, not once per message.
   */
  async waitSpace(want: number): Promise<void> {
    const w = this.words;
    const wanted = Math.min(want, this.#cap >>> 2);
    Atomics.store(w, H.SPACE_WANT, wanted);
    const ready = () => this.#cap - this.available() >= wanted || (this.flags() & H.READER_CLOSED) !== 0;
    await this.#sleep(H.SPACE_SEQ, H.SPACE_WAITERS, ready, Number.POSITIVE_INFINITY);
  }

  /**
   * Reads one message and resolves `decode` of its bytes (a view valid only during the call), or
   * {@link TIMED_OUT} if no message began before `deadline` (or the read mutex stayed taken).
   * Throws {@link ClosedError} when the writing side closed and nothing is left. Once a message has
   * begun it is read to its end whatever the deadline: its writer is streaming it.
   */
  async read<T>(decode: Decode<T>, deadline: number): Promise<T | typeof TIMED_OUT> {
    const w = this.words;
    if (!(await lock(w, H.R_LOCK, deadline))) return TIMED_OUT;
    try {
      for (;;) {
        const avail = this.available();
        if (avail >= 4) break;
        if (avail === 0) {
          if (this.flags() & H.WRITER_CLOSED) throw new ClosedError('The other end of the pipe is closed');
          const woke = await this.#sleep(H.DATA_SEQ, H.DATA_WAITERS, () => this.#readable(), deadline);
          if (!woke && this.available() === 0) return TIMED_OUT;
        } else {
          // A writer is streaming the length prefix itself: it comes promptly.
          await this.#sleep(
            H.DATA_SEQ,
            H.DATA_WAITERS,
            () => this.available() >= 4,
            Number.POSITIVE_INFINITY,
          );
        }
      }
      return await this.#readLocked(decode);
    } finally {
      unlock(w, H.R_LOCK);
    }
  }

  /** Reads one whole message now if the read mutex is free and it is all there; `TIMED_OUT` otherwise. */
  tryRead<T>(decode: Decode<T>): T | typeof TIMED_OUT {
    const w = this.words;
    if (!tryLock(w, H.R_LOCK)) return TIMED_OUT;
    try {
      const avail = this.available();
      if (avail < 4) return TIMED_OUT;
      const head = Atomics.load(w, H.HEAD);
      const len = this.#length(head);
      if (avail - 4 < len) return TIMED_OUT;
      return this.#take(head, len, decode);
    } finally {
      unlock(w, H.R_LOCK);
    }
  }

  /**
   * Resolves true once a message (or the writer's close) is there to read, false at `deadline`.
   * Takes no mutex, as CPython's `poll()`.
   */
  async waitReadable(deadline: number): Promise<boolean> {
    while (!this.#readable()) {
      if (!(await this.#sleep(H.DATA_SEQ, H.DATA_WAITERS, () => this.#readable(), deadline)))
        return this.#readable();
    }
    return true;
  }

  #readable(): boolean {
    return this.available() > 0 || (this.flags() & H.WRITER_CLOSED) !== 0;
  }

  async #readLocked<T>(decode: Decode<T>): Promise<T> {
    const w = this.words;
    const head = Atomics.load(w, H.HEAD);
    const len = this.#length(head);
    if (this.available() - 4 >= len) return this.#take(head, len, decode);
    // Stream: consume the length, then copy segments out as the writer publishes them.
    const out = Buffer.allocUnsafe(len);
    let got = 0;
    let pos = (head + 4) | 0;
    this.#consume(pos);
    while (got < len) {
      const avail = this.available();
      if (avail === 0) {
        if (this.flags() & H.WRITER_CLOSED)
          throw new ProtocolError('A pipe was closed in the middle of a message');
        await this.#sleep(H.DATA_SEQ, H.DATA_WAITERS, () => this.#readable(), Number.POSITIVE_INFINITY);
        continue;
      }
      const n = Math.min(avail, len - got);
      this.#copyOut(pos, out, got, n);
      got += n;
      pos = (pos + n) | 0;
      this.#consume(pos);
    }
    return decodeSafely(decode, out, 0, len);
  }

  /** Decodes a whole message in place (copying only if it wraps), then frees its bytes. */
  #take<T>(head: number, len: number, decode: Decode<T>): T {
    const start = (head + 4) & this.#mask;
    try {
      if (start + len <= this.#cap) return decodeSafely(decode, this.#data, start, start + len);
      const copy = Buffer.allocUnsafe(len);
      this.#copyOut(head + 4, copy, 0, len);
      return decodeSafely(decode, copy, 0, len);
    } finally {
      // Freed after decoding: until H.HEAD moves, no writer may overwrite these bytes.
      this.#consume((head + 4 + len) | 0);
    }
  }

  #length(head: number): number {
    const at = head & this.#mask;
    if (at + 4 <= this.#cap) return this.#data.readUInt32LE(at);
    this.#copyOut(head, this.#lenBuf, 0, 4);
    return this.#lenView.getUint32(0, true);
  }

  #consume(head: number): void {
    const w = this.words;
    Atomics.store(w, H.HEAD, head);
    // Only the write-mutex holder sleeps for space, and H.SPACE_WANT is its wish (set before it counts
    // itself as a sleeper, so a reader that sees the count sees the wish).
    if (
      Atomics.load(w, H.SPACE_WAITERS) > 0 &&
      this.#cap - this.available() >= Atomics.load(w, H.SPACE_WANT)
    ) {
      this.#bump(H.SPACE_SEQ);
    }
  }

  #bump(seq: number): void {
    Atomics.add(this.words, seq, 1);
    Atomics.notify(this.words, seq);
  }

  /**
   * Sleeps on a sequence word until it is bumped or `deadline`. The sleeper counts itself, then
   * re-checks `ready`: a publisher stores its counter before reading the count, so either it sees
   * the sleeper and bumps, or the sleeper sees its counter (both are sequentially consistent).
   */
  async #sleep(seq: number, waiters: number, ready: () => boolean, deadline: number): Promise<boolean> {
    const w = this.words;
    const s = Atomics.load(w, seq);
    Atomics.add(w, waiters, 1);
    try {
      if (ready()) return true;
      return (await waitWord(w, seq, s, deadline)) !== 'timed-out';
    } finally {
      Atomics.sub(w, waiters, 1);
    }
  }

  #copyIn(pos: number, src: Uint8Array, from: number, n: number): void {
    const at = pos & this.#mask;
    const first = Math.min(n, this.#cap - at);
    this.#data.set(src.subarray(from, from + first), at);
    if (first < n) this.#data.set(src.subarray(from + first, from + n), 0);
  }

  #copyOut(pos: number, dst: Uint8Array, to: number, n: number): void {
    const at = pos & this.#mask;
    const first = Math.min(n, this.#cap - at);
    dst.set(this.#data.subarray(at, at + first), to);
    if (first < n) dst.set(this.#data.subarray(0, n - first), to + first);
  }
}

function decodeSafely<T>(decode: Decode<T>, b: Buffer, start: number, end: number): T {
  try {
    return decode(b, start, end);
  } catch (e) {
    throw new ProtocolError(`A message in a local queue or pipe could not be decoded: ${String(e)}`);
  }
}
