/**
 * Primitives passed to tasks on a local pool's worker threads: every way a caller passes
 * arguments (map, starmap, apply, imap, initargs) carries them as handles, and the thread revives
 * them on the same shared memory; a handle of another context fails the task with a clear error.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { aws, local, NotSerializableError, TaskError } from '../../src/index.js';
import tasks from '../fixtures/process-tasks.js';

const mp = local({ tasks });
const pool = mp.Pool({ processes: 3 });
afterAll(() => pool.terminate());

describe('primitives passed to pool tasks', () => {
  it('map: threads adding under a Lock to a Value lose no update', async () => {
    const lock = mp.Lock();
    const value = mp.Value('i', 0);
    const items = Array.from({ length: 6 }, (): [typeof lock, typeof value, number] => [lock, value, 50]);
    await pool.starmap('addUnderLock', items, { chunksize: 1 });
    expect(await value.get()).toBe(300);
  });

  it('map: each item may carry its own primitive', async () => {
    const values = [mp.Value('i', 1), mp.Value('i', 2), mp.Value('i', 3)];
    expect(await pool.map('readValue', values)).toEqual([1, 2, 3]);
  });

  it('apply: a held Lock is seen as held inside the task', async () => {
    const lock = mp.Lock();
    await lock.acquire();
    expect(await pool.apply('isLocked', [lock])).toBe(true);
    await lock.release();
    expect(await pool.apply('isLocked', [lock])).toBe(false);
  });

  it('applyAsync: an Event set by the caller wakes the waiting task', async () => {
    const event = mp.Event();
    const waiting = pool.applyAsync('waitEvent', [event]);
    await event.set();
    expect(await waiting.get()).toBe(true);
  });

  it('imap: items fed lazily carry their primitives', async () => {
    const value = mp.Value('i', 0);
    async function* items() {
      for (let i = 0; i < 5; i++) yield value;
    }
    const out: number[] = [];
    for await (const r of pool.imapUnordered('addOne', items())) out.push(r);
    expect(out.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
  });

  it('primitives nested in plain objects are revived', async () => {
    const value = mp.Value('i', 10);
    expect(await pool.apply('nestedAdd', [{ box: { value } }, 5])).toBe(15);
    expect(await value.get()).toBe(15);
  });

  it('a Lock inside a Map fails the call with NotSerializableError instead of arriving dead', async () => {
    const value = mp.Value('i', 0);
    const extra = new Map([['lock', mp.Lock()]]);
    await expect(pool.apply('readValue', [value, extra] as never)).rejects.toBeInstanceOf(
      NotSerializableError,
    );
  });

  it('a Lock deeper than the argument walk goes fails the call with NotSerializableError', async () => {
    const value = mp.Value('i', 0);
    const extra = [[[[[mp.Lock()]]]]]; // the Lock at depth 6 of the arguments
    await expect(pool.apply('readValue', [value, extra] as never)).rejects.toBeInstanceOf(
      NotSerializableError,
    );
  });

  it('a Lock at depth 4 of the arguments (MAX_DEPTH) still travels as a live Lock', async () => {
    const value = mp.Value('i', 7);
    const extra = [[[mp.Lock()]]]; // the Lock at depth 4 of the arguments
    expect(await pool.apply('readValue', [value, extra] as never)).toBe(7);
  });

  it('initargs: the initializer gets the live primitive in every thread', async () => {
    const value = mp.Value('i', 0);
    const p = mp.Pool({ processes: 2, initializer: 'keepValue', initargs: [value] });
    try {
      await p.map('addToKept', [1, 1, 1, 1], { chunksize: 1 });
      expect(await value.get()).toBe(4);
    } finally {
      await p.terminate();
    }
  });

  it("fails the task with a clear error when a handle is the AWS context's", async () => {
    const cloud = aws({ tasks, resources: { coordinator: 'c', table: 't', bucket: 'b' } });
    const err = await pool.apply('isLocked', [cloud.Lock() as never]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).remoteName).toBe('ProtocolError');
    expect((err as TaskError).message).toMatch(/aws context/);
  });
});
