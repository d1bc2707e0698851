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
 */
import { ClosedError, InvalidArgumentError, ProtocolError } from '../../errors.js';
import { arena } from './arena.js';
import { lock, tryLock, unlock, waitWord } from './ring-waits.js';

/** Bytes of data in a ring unless told otherwise (the header comes on top). */
export const RING_BYTES = 64 * 1024;

/** Bytes of a ring's header. */
export const RING_HEADER_BYTES = 128;

const MAGIC_VALUE = 0x72696e67; // 'ring'
// Header words (Int32).
const W_LOCK = 0;
const R_LOCK = 1;
const HEAD = 2; // bytes consumed so far (mod 2^32)
const TAIL = 3; // bytes published so far (mod 2^32)
const CAP = 4;
const FLAGS = 5;
/** Bumped (when someone sleeps) on every publish and on close; data sleepers wait on it. */
const DATA_SEQ = 6;
const DATA_WAITERS = 7;
/** Bumped (when someone sleeps) on every consume and on close; the writer sleeps on it when full. */
const SPACE_SEQ = 8;
const SPACE_WAITERS = 9;
const MAGIC = 10;
const TAG = 11;
/** Free bytes the sleeping writer waits for (readers bump `SPACE_SEQ` only once that many are free). */
const SPACE_WANT = 12;
/** First header word a user of the ring (a queue) may use for its own state; words up to 31. */
export const USER_WORD = 16;

/** @internal Header word indices that tests set directly (e.g. counters just below the 2^32 wrap). */
export const RING_WORD = { HEAD, TAIL } as const;

/** Flag bits: the sending side or the receiving side of a pipe was closed. */
export const WRITER_CLOSED = 1;
export const READER_CLOSED = 2;

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
    this.words = a.i32(at, RING_HEADER_BYTES / 4);
    this.#data = Buffer.from(a.sab, at + RING_HEADER_BYTES, cap);
    this.#cap = cap;
    this.#mask = cap - 1;
  }

  /** Allocates a ring of `cap` data bytes (a power of two >= 64) tagged `tag` (which user it serves). */
  static create(tag: number, cap = RING_BYTES): Ring {
    if (!Number.isInteger(cap) || cap < 64 || cap > 2 ** 30 || (cap & (cap - 1)) !== 0) {
      throw new InvalidArgumentError(
        `Expected a ring capacity that is a power of two from 64 to 2^30, got ${cap}`,
      );
    }
    const at = arena().alloc(RING_HEADER_BYTES + cap);
    const w = arena().i32(at, RING_HEADER_BYTES / 4);
    Atomics.store(w, CAP, cap);
    Atomics.store(w, TAG, tag);
    Atomics.store(w, MAGIC, MAGIC_VALUE);
    return new Ring(at, cap);
  }

  /** Rebuilds a ring from a handle's offset, checking that a ring tagged `tag` lives there. */
  static revive(at: unknown, tag: number, what: string): Ring {
    const a = arena();
    a.check(at, RING_HEADER_BYTES, what);
    const w = a.i32(at as number, RING_HEADER_BYTES / 4);
    const cap = Atomics.load(w, CAP);
    if (Atomics.load(w, MAGIC) !== MAGIC_VALUE || Atomics.load(w, TAG) !== tag) {
      throw new InvalidArgumentError(`Malformed ${what} handle: no ${what} at offset ${String(at)}`);
    }
    a.check(at, RING_HEADER_BYTES + cap, what);
    return new Ring(at as number, cap);
  }

  /** Bytes published and not yet consumed. */
  available(): number {
    return (Atomics.load(this.words, TAIL) - Atomics.load(this.words, HEAD)) >>> 0;
  }

  flags(): number {
    return Atomics.load(this.words, FLAGS);
  }

  /** Sets flag bits and wakes every sleeper so that it re-checks them. */
  setFlags(bits: number): void {
    Atomics.or(this.words, FLAGS, bits);
    this.#bump(DATA_SEQ);
    this.#bump(SPACE_SEQ);
  }

  /** Writes the whole message now if the write mutex is free and it fits; false otherwise. */
  tryWrite(payload: Uint8Array): boolean {
    const w = this.words;
    const need = 4 + payload.length;
    if (need > this.#cap || !tryLock(w, W_LOCK)) return false;
    const tail = Atomics.load(w, TAIL);
    if (this.#cap - ((tail - Atomics.load(w, HEAD)) >>> 0) < need) {
      unlock(w, W_LOCK);
      return false;
    }
    this.#lenView.setUint32(0, payload.length, true);
    this.#copyIn(tail, this.#lenBuf, 0, 4);
    this.#copyIn(tail + 4, payload, 0, payload.length);
    Atomics.store(w, TAIL, (tail + need) | 0);
    unlock(w, W_LOCK);
    if (Atomics.load(w, DATA_WAITERS) > 0) this.#bump(DATA_SEQ);
    return true;
  }

  /** Takes the write mutex now if it is free (in the contended state: a feeder may sleep on it later). */
  tryLockWriter(): boolean {
    return Atomics.compareExchange(this.words, W_LOCK, 0, 2) === 0;
  }

  unlockWriter(): void {
    unlock(this.words, W_LOCK);
  }

  /** Resolves once the write mutex was seen free (the caller then tries to take it). */
  async waitWriterFree(): Promise<void> {
    const w = this.words;
    // Marks the mutex contended first, so that its holder's unlock notifies.
    if (Atomics.compareExchange(w, W_LOCK, 1, 2) === 0) return;
    await waitWord(w, W_LOCK, 2, Number.POSITIVE_INFINITY);
  }

  /**
   * With the write mutex held: writes as much of the frame of `payload` (4 length bytes, then the
   * payload) from frame byte `done` as fits now, and returns how far the frame is written. A frame
   * larger than the ring is written over several calls, as the reader frees room. Throws
   * {@link ClosedError} if the reading side closed.
   */
  writeSome(payload: Uint8Array, done: number): number {
    const w = this.words;
    if (this.flags() & READER_CLOSED) throw new ClosedError('The receiving end of the pipe is closed');
    const need = 4 + payload.length;
    const tail = Atomics.load(w, TAIL);
    const n = Math.min(this.#cap - ((tail - Atomics.load(w, HEAD)) >>> 0), need - done);
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
    Atomics.store(w, TAIL, (tail + n) | 0);
    if (Atomics.load(w, DATA_WAITERS) > 0) this.#bump(DATA_SEQ);
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
    Atomics.store(w, SPACE_WANT, wanted);
    const ready = () => this.#cap - this.available() >= wanted || (this.flags() & READER_CLOSED) !== 0;
    await this.#sleep(SPACE_SEQ, SPACE_WAITERS, ready, Number.POSITIVE_INFINITY);
  }

  /**
   * Reads one message and resolves `decode` of its bytes (a view valid only during the call), or
   * {@link TIMED_OUT} if no message began before `deadline` (or the read mutex stayed taken).
   * Throws {@link ClosedError} when the writing side closed and nothing is left. Once a message has
   * begun it is read to its end whatever the deadline: its writer is streaming it.
   */
  async read<T>(decode: Decode<T>, deadline: number): Promise<T | typeof TIMED_OUT> {
    const w = this.words;
    if (!(await lock(w, R_LOCK, deadline))) return TIMED_OUT;
    try {
      for (;;) {
        const avail = this.available();
        if (avail >= 4) break;
        if (avail === 0) {
          if (this.flags() & WRITER_CLOSED) throw new ClosedError('The other end of the pipe is closed');
          const woke = await this.#sleep(DATA_SEQ, DATA_WAITERS, () => this.#readable(), deadline);
          if (!woke && this.available() === 0) return TIMED_OUT;
        } else {
          // A writer is streaming the length prefix itself: it comes promptly.
          await this.#sleep(DATA_SEQ, DATA_WAITERS, () => this.available() >= 4, Number.POSITIVE_INFINITY);
        }
      }
      return await this.#readLocked(decode);
    } finally {
      unlock(w, R_LOCK);
    }
  }

  /** Reads one whole message now if the read mutex is free and it is all there; `TIMED_OUT` otherwise. */
  tryRead<T>(decode: Decode<T>): T | typeof TIMED_OUT {
    const w = this.words;
    if (!tryLock(w, R_LOCK)) return TIMED_OUT;
    try {
      const avail = this.available();
      if (avail < 4) return TIMED_OUT;
      const head = Atomics.load(w, HEAD);
      const len = this.#length(head);
      if (avail - 4 < len) return TIMED_OUT;
      return this.#take(head, len, decode);
    } finally {
      unlock(w, R_LOCK);
    }
  }

  /**
   * Resolves true once a message (or the writer's close) is there to read, false at `deadline`.
   * Takes no mutex, as CPython's `poll()`.
   */
  async waitReadable(deadline: number): Promise<boolean> {
    while (!this.#readable()) {
      if (!(await this.#sleep(DATA_SEQ, DATA_WAITERS, () => this.#readable(), deadline)))
        return this.#readable();
    }
    return true;
  }

  #readable(): boolean {
    return this.available() > 0 || (this.flags() & WRITER_CLOSED) !== 0;
  }

  async #readLocked<T>(decode: Decode<T>): Promise<T> {
    const w = this.words;
    const head = Atomics.load(w, HEAD);
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
        if (this.flags() & WRITER_CLOSED)
          throw new ProtocolError('A pipe was closed in the middle of a message');
        await this.#sleep(DATA_SEQ, DATA_WAITERS, () => this.#readable(), Number.POSITIVE_INFINITY);
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
      // Freed after decoding: until HEAD moves, no writer may overwrite these bytes.
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
    Atomics.store(w, HEAD, head);
    // Only the write-mutex holder sleeps for space, and SPACE_WANT is its wish (set before it counts
    // itself as a sleeper, so a reader that sees the count sees the wish).
    if (Atomics.load(w, SPACE_WAITERS) > 0 && this.#cap - this.available() >= Atomics.load(w, SPACE_WANT)) {
      this.#bump(SPACE_SEQ);
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
      return await waitWord(w, seq, s, deadline);
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
