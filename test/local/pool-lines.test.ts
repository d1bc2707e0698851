/**
 * `lines()` on the local context: a file split by byte ranges, read by the host (never by the
 * caller), each line one item; results in input order through map, mapReduce, imap and
 * imapUnordered.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError, lines, local, type Pool, TaskError } from 'fanfold';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tasks from '../fixtures/lines-tasks.js';
import { collect } from '../support/collect.js';

type Tasks = typeof tasks.tasks;

const dir = mkdtempSync(join(tmpdir(), 'fanfold-pool-lines-'));
const mp = local({ tasks });
let pool: Pool<Tasks>;

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function split(text: string): string[] {
  const out = text.split(/\r?\n/);
  if (out[out.length - 1] === '') out.pop();
  return out;
}

/** A few MB of lines of varied lengths (some multibyte, some CRLF, some longer than a range). */
function bigText(): string {
  const parts: string[] = [];
  for (let i = 0; i < 60_000; i++) {
    const n = (i * 7919) % 97;
    let line = `${i}:${'x'.repeat(n)}${i % 13 === 0 ? '€𝄞é' : ''}`;
    if (i % 5000 === 0) line += 'y'.repeat(200_000);
    parts.push(line, i % 3 === 0 ? '\r\n' : '\n');
  }
  parts.push('last line without newline');
  return parts.join('');
}

beforeAll(() => {
  pool = mp.Pool({ processes: 2 });
});
afterAll(async () => {
  await pool.terminate();
  rmSync(dir, { recursive: true, force: true });
});

describe('pool over lines(file)', () => {
  it('map over a few MB keeps order and equals a direct split', async () => {
    const text = bigText();
    expect(Buffer.byteLength(text)).toBeGreaterThan(3_000_000);
    const path = file('big.txt', text);
    const want = split(text);
    expect(await pool.map('echo', lines(path, { chunkBytes: 256 * 1024 }))).toEqual(want);
    // The default range length (from the size and the pool's processes), and a file URL.
    expect(await pool.map('echo', lines(pathToFileURL(path)))).toEqual(want);
  }, 60_000);

  it('map with small ranges, mapReduce, imap and imapUnordered', async () => {
    const text = 'alpha\r\nbeta\n\ngamma delta\n€uro\nlast';
    const path = file('small.txt', text);
    const want = split(text);
    const src = lines(path, { chunkBytes: 3 });
    expect(await pool.map('echo', src)).toEqual(want);
    expect(await pool.map('length', src)).toEqual(want.map((l) => l.length));
    expect(await pool.mapReduce('length', src, 'add')).toBe(want.join('').length);
    expect(await pool.mapReduce('length', lines(path), 'add', { initial: 100 })).toBe(
      100 + want.join('').length,
    );
    expect(await collect(pool.imap('echo', src))).toEqual(want);
    expect((await collect(pool.imapUnordered('echo', src))).sort()).toEqual([...want].sort());
  });

  it('imap: break stops the job; onProgress counts ranges', async () => {
    const path = file('imap.txt', 'a\nb\nc\nd\ne\nf\n');
    const seen: string[] = [];
    for await (const line of pool.imap('echo', lines(path, { chunkBytes: 2 }))) {
      seen.push(line);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['a', 'b']);
    const progress: (number | undefined)[] = [];
    await pool.map('echo', lines(path, { chunkBytes: 4 }), { onProgress: (p) => progress.push(p.total) });
    expect(progress.at(-1)).toBe(3);
  });

  it('an empty file: no items', async () => {
    const src = lines(file('empty.txt', ''));
    expect(await pool.map('echo', src)).toEqual([]);
    expect(await collect(pool.imap('echo', src))).toEqual([]);
    expect(await pool.mapReduce('length', src, 'add', { initial: 7 })).toBe(7);
  });

  it('a task error names the line within its byte range', async () => {
    const path = file('boom.txt', 'a\nb\nc\nboom\nd\n');
    const err = await pool.map('boomOn', lines(path, { chunkBytes: 4 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    const te = err as TaskError;
    expect(te.remoteName).toBe('RangeError');
    // "boom" starts at byte 6: range [4, 8), whose lines are "c" (byte 4) and "boom".
    expect(te.chunkIndex).toBe(1);
    expect(te.itemIndex).toBe(1);
    expect(te.message).toContain(`line 1 of byte range [4, 8) of ${path}`);
  });

  it('mapReduce of an empty file without an initial value fails the job', async () => {
    const err = await pool.mapReduce('length', lines(file('empty2.txt', '')), 'add').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).message).toContain('empty input with no initial value');
  });

  it('an S3 object is refused by the local context', async () => {
    await expect(pool.map('echo', lines({ bucket: 'my-bucket', key: 'k' }))).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('a missing file, or a folder, rejects the call with InvalidArgumentError naming it (was ProtocolError)', async () => {
    const missing = join(dir, 'missing.txt');
    await expect(pool.map('echo', lines(missing))).rejects.toMatchObject({
      code: 'ERR_FANFOLD_INVALID_ARGUMENT',
      message: expect.stringContaining(missing),
      cause: expect.objectContaining({ code: 'ENOENT' }),
    });
    await expect(pool.map('echo', lines(dir))).rejects.toMatchObject({
      code: 'ERR_FANFOLD_INVALID_ARGUMENT',
      message: expect.stringContaining(dir),
    });
  });
});
