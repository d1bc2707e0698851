/**
 * The layout of a ring in the arena (see ring.ts): a header of Int32 words, then the data area.
 * Every word is read and written with Atomics only.
 */

/** Bytes of data in a ring unless told otherwise (the header comes on top). */
export const RING_BYTES = 64 * 1024;

/** Bytes of a ring's header. */
export const RING_HEADER_BYTES = 128;

/** What the `MAGIC` word holds once a ring is made ('ring'): a handle naming anything else is refused. */
export const MAGIC_VALUE = 0x72696e67;

// Header words (Int32 indices).
/** The write mutex (0 free, 1 held, 2 held and maybe slept on), held for a whole message. */
export const W_LOCK = 0;
/** The read mutex, same states, held for a whole message. */
export const R_LOCK = 1;
/** Bytes consumed so far (mod 2^32). */
export const HEAD = 2;
/** Bytes published so far (mod 2^32). */
export const TAIL = 3;
/** Bytes of the data area (a power of two). */
export const CAP = 4;
/** {@link WRITER_CLOSED} and {@link READER_CLOSED} bits. */
export const FLAGS = 5;
/** Bumped (when someone sleeps) on every publish and on close; data sleepers wait on it. */
export const DATA_SEQ = 6;
/** How many sleep on `DATA_SEQ`. */
export const DATA_WAITERS = 7;
/** Bumped (when someone sleeps) on every consume and on close; the writer sleeps on it when full. */
export const SPACE_SEQ = 8;
/** How many sleep on `SPACE_SEQ`. */
export const SPACE_WAITERS = 9;
/** Holds {@link MAGIC_VALUE}. */
export const MAGIC = 10;
/** Which use the ring serves (Queue, JoinableQueue, SimpleQueue, Pipe). */
export const TAG = 11;
/** Free bytes the sleeping writer waits for (readers bump `SPACE_SEQ` only once that many are free). */
export const SPACE_WANT = 12;
/** First header word a user of the ring (a queue) may use for its own state; words up to 31. */
export const USER_WORD = 16;

/** @internal Header word indices that tests set directly (e.g. counters just below the 2^32 wrap). */
export const RING_WORD = { HEAD, TAIL } as const;

/** Flag bit: the sending side of a pipe was closed (set once its sender's backlog is written). */
export const WRITER_CLOSED = 1;
/** Flag bit: the receiving side of a pipe was closed. */
export const READER_CLOSED = 2;
