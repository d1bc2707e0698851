/**
 * The shared-memory arena of the local context: one SharedArrayBuffer per process, handed to every
 * worker thread at start (pool threads and process threads alike), from which every local primitive
 * takes its words. A primitive's handle is therefore plain numbers (a byte offset and a length) that
 * survive `v8.serialize`, and any thread can make a primitive (allocation is one atomic add).
 *
 * Memory is never returned to the arena: primitives are few and long-lived, the buffer is reserved
 * virtually and touched pages only cost memory. When it is full, {@link ArenaFullError} names the
 * variable that sets its size.
 */
import { isMainThread, workerData } from 'node:worker_threads';
import { ErrorCodes, FanfoldError, InvalidArgumentError } from '../../errors.js';

/** Bytes reserved for the arena unless `FANFOLD_ARENA_MB` says otherwise. */
export const DEFAULT_ARENA_BYTES = 256 * 1024 * 1024;

const MAGIC = 0x66616e66; // 'fanf'
const HEADER_BYTES = 64; // [0] magic, [1] next free byte offset
const NEXT = 1;

/** The arena has no room left for a new primitive. */
export class ArenaFullError extends FanfoldError {
  constructor(wanted: number, size: number) {
    super(
      ErrorCodes.INVALID_ARGUMENT,
      `The local shared-memory arena (${size} bytes) has no room for ${wanted} more bytes; ` +
        'set FANFOLD_ARENA_MB to reserve more, or make fewer primitives',
    );
  }
}

/** A view of the process's shared arena. */
export class Arena {
  readonly sab: SharedArrayBuffer;
  readonly #header: Int32Array;

  constructor(sab: SharedArrayBuffer) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < HEADER_BYTES) {
      throw new InvalidArgumentError('Expected the arena to be a SharedArrayBuffer of at least 64 bytes');
    }
    this.sab = sab;
    this.#header = new Int32Array(sab, 0, HEADER_BYTES / 4);
    if (Atomics.compareExchange(this.#header, 0, 0, MAGIC) === 0)
      Atomics.store(this.#header, NEXT, HEADER_BYTES);
    // A thread that adopts an arena whose creator is still writing the header waits for NEXT to be set.
    while (Atomics.load(this.#header, NEXT) === 0) Atomics.wait(this.#header, NEXT, 0, 1);
  }

  /** Bytes in the arena. */
  get size(): number {
    return this.sab.byteLength;
  }

  /** Reserves `bytes` zeroed bytes aligned to 8 and returns their byte offset. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes <= 0) {
      throw new InvalidArgumentError(`Expected an allocation size > 0, got ${bytes}`);
    }
    const rounded = Math.ceil(bytes / 8) * 8;
    if (rounded > 0x7fff_0000) throw new ArenaFullError(rounded, this.size);
    for (;;) {
      const at = Atomics.load(this.#header, NEXT);
      const end = at + rounded;
      if (end > this.size) throw new ArenaFullError(rounded, this.size);
      if (Atomics.compareExchange(this.#header, NEXT, at, end) === at) return at;
    }
  }

  /** An Int32Array of `words` words at byte offset `at` (for Atomics.wait/notify). */
  i32(at: number, words: number): Int32Array {
    return new Int32Array(this.sab, at, words);
  }

  /** A byte view of `bytes` bytes at `at`. */
  u8(at: number, bytes: number): Uint8Array {
    return new Uint8Array(this.sab, at, bytes);
  }

  /** Checks that a handle's region lies inside the arena (handles are validated where they are revived). */
  check(at: unknown, bytes: unknown, what: string): void {
    if (
      typeof at !== 'number' ||
      typeof bytes !== 'number' ||
      !Number.isInteger(at) ||
      !Number.isInteger(bytes) ||
      at < HEADER_BYTES ||
      at % 8 !== 0 ||
      bytes <= 0 ||
      at + bytes > Atomics.load(this.#header, NEXT)
    ) {
      throw new InvalidArgumentError(
        `Malformed ${what} handle: region ${String(at)}+${String(bytes)} is not in the arena`,
      );
    }
  }
}

let current: Arena | undefined;

function reservedBytes(): number {
  const mb = process.env.FANFOLD_ARENA_MB;
  if (mb === undefined || mb === '') return DEFAULT_ARENA_BYTES;
  const n = Number(mb);
  if (!Number.isInteger(n) || n < 1 || n > 2047) {
    throw new InvalidArgumentError(
      `Expected FANFOLD_ARENA_MB to be an integer from 1 to 2047, got ${JSON.stringify(mb)}`,
    );
  }
  return n * 1024 * 1024;
}

/**
 * The process's arena: in a worker thread started by fanfold, the one its parent passed in
 * `workerData.arena`; otherwise made on first use.
 */
export function arena(): Arena {
  if (current) return current;
  const inherited = isMainThread ? undefined : (workerData as { arena?: unknown } | null)?.arena;
  current = new Arena(
    inherited instanceof SharedArrayBuffer ? inherited : new SharedArrayBuffer(reservedBytes()),
  );
  return current;
}

/** Adopts `sab` as this thread's arena (the thread runtime calls it with what the parent sent). */
export function adoptArena(sab: SharedArrayBuffer): Arena {
  if (current && current.sab !== sab) {
    throw new InvalidArgumentError('This thread already uses a different shared-memory arena');
  }
  current ??= new Arena(sab);
  return current;
}
