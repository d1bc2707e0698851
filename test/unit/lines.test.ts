import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  defaultChunkBytes,
  Lines,
  lines,
  rangeCount,
  readLines,
  splitLines,
} from '../../src/engine/lines.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { FileObjectReader } from '../../src/local/file-reader.js';

const enc = new TextEncoder();

/** What the ranges together must yield: `text.split(/\r?\n/)` less a trailing empty line. */
function expected(text: string): string[] {
  const out = text.split(/\r?\n/);
  if (out[out.length - 1] === '') out.pop();
  return out;
}

/** Reads every range of `bytes` split every `chunkBytes`, counting the bytes read. */
async function allRanges(bytes: Uint8Array, chunkBytes: number, step?: number) {
  const size = bytes.length;
  const perRange: string[][] = [];
  let reads = 0;
  const read = async (start: number, end: number) => {
    expect(start).toBeGreaterThanOrEqual(0);
    expect(end).toBeLessThanOrEqual(size);
    expect(start).toBeLessThanOrEqual(end);
    reads += end - start;
    return bytes.slice(start, end);
  };
  for (let i = 0; i < rangeCount(size, chunkBytes); i++) {
    const start = i * chunkBytes;
    perRange.push(await readLines(read, size, start, Math.min(size, start + chunkBytes), step));
  }
  return { lines: perRange.flat(), perRange, reads };
}

/** A deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['a', 'b', 'xyz', '\n', '\n', '\r\n', '\r', 'é', '€', '𝄞', ' ', '\n\n', 'line'];

describe('readLines: a range owns the lines that start in it', () => {
  it.each([
    ['empty object', ''],
    ['one newline', '\n'],
    ['no trailing newline', 'a\nb\nc'],
    ['trailing newline', 'a\nb\nc\n'],
    ['CRLF', 'a\r\nb\r\nc\r\n'],
    ['CRLF, no trailing newline', 'a\r\nb'],
    ['a lone CR stays', 'a\rb\nc\r'],
    ['empty lines', '\n\n\na\n\n'],
    ['multibyte characters', 'héllo\n€uro\n𝄞 clef\n日本語\n'],
  ])('%s, every chunk size', async (_name, text) => {
    const bytes = enc.encode(text);
    for (let chunk = 1; chunk <= bytes.length + 2; chunk++) {
      const got = await allRanges(bytes, chunk);
      expect(got.lines, `chunkBytes ${chunk}`).toEqual(expected(text));
    }
  });

  it('a line exactly at a boundary belongs to the range it starts in', async () => {
    // "abc\n" is bytes [0, 4), "def\n" [4, 8): ranges of 4 split exactly on line starts.
    const got = await allRanges(enc.encode('abc\ndef\nghi\n'), 4);
    expect(got.perRange).toEqual([['abc'], ['def'], ['ghi']]);
    // Ranges of 3: [0,3) owns "abc"; [3,6) owns "def" (starts at 4); [6,9) owns "ghi" (starts at 8); [9,12) none.
    const three = await allRanges(enc.encode('abc\ndef\nghi\n'), 3);
    expect(three.perRange).toEqual([['abc'], ['def'], ['ghi'], []]);
  });

  it('a line longer than a range is owned once, by the range it starts in', async () => {
    const long = 'x'.repeat(1000);
    const text = `a\n${long}\nb\n`;
    const got = await allRanges(enc.encode(text), 64, 16);
    expect(got.lines).toEqual(['a', long, 'b']);
    expect(got.perRange.filter((r) => r.includes(long))).toHaveLength(1);
    // Ranges inside the long line own nothing.
    expect(got.perRange.slice(1, 14).every((r) => r.length === 0 || r[0] === 'b')).toBe(true);
  });

  it('one-byte ranges', async () => {
    const text = 'ab\n\nc\r\nd';
    const got = await allRanges(enc.encode(text), 1);
    expect(got.lines).toEqual(['ab', '', 'c', 'd']);
    expect(got.perRange.filter((r) => r.length > 0)).toHaveLength(4);
  });

  it('a multibyte character split by a range boundary is decoded whole', async () => {
    const text = '€€€\n𝄞𝄞\né\n';
    const bytes = enc.encode(text);
    for (let chunk = 1; chunk <= bytes.length; chunk++)
      expect((await allRanges(bytes, chunk)).lines).toEqual(['€€€', '𝄞𝄞', 'é']);
  });

  it('reads a range, the byte before it and the rest of its last line; no more', async () => {
    const text = `${'a'.repeat(99)}\n`.repeat(100); // 100 lines of 100 bytes
    const bytes = enc.encode(text);
    const got = await allRanges(bytes, 1000);
    expect(got.lines).toHaveLength(100);
    // Each range reads itself, one byte before it (but the first) and nothing past its end
    // (boundaries fall right after a newline).
    expect(got.reads).toBe(bytes.length + 9);
  });

  it('equals split(/\\r?\\n/) on random texts and chunk sizes (seeded)', async () => {
    const rand = rng(20261124);
    for (let t = 0; t < 300; t++) {
      const n = Math.floor(rand() * 60);
      let text = '';
      for (let k = 0; k < n; k++) text += PIECES[Math.floor(rand() * PIECES.length)];
      const bytes = enc.encode(text);
      const chunk = 1 + Math.floor(rand() * (bytes.length + 3));
      const step = 1 + Math.floor(rand() * 8);
      const got = await allRanges(bytes, chunk, step);
      expect(got.lines, `text ${JSON.stringify(text)}, chunkBytes ${chunk}`).toEqual(expected(text));
    }
  });

  it('splitLines is split(/\\r?\\n/) less a trailing empty line', () => {
    for (const text of ['', '\n', 'a', 'a\r', 'a\r\n', '\r\n\r\n', 'a\n\rb'])
      expect(splitLines(enc.encode(text))).toEqual(expected(text));
  });
});

describe('lines()', () => {
  it('accepts a path, a file URL or { bucket, key }', () => {
    expect(lines('/tmp/x.txt').source).toEqual({ path: '/tmp/x.txt' });
    expect(lines('rel.txt').source).toEqual({ path: join(process.cwd(), 'rel.txt') });
    expect(lines(pathToFileURL('/tmp/y z.txt')).source).toEqual({ path: '/tmp/y z.txt' });
    expect(lines('file:///tmp/a.txt').source).toEqual({ path: '/tmp/a.txt' });
    const s3 = lines({ bucket: 'my-bucket', key: 'logs/day.log' }, { chunkBytes: 1 << 20 });
    expect(s3).toBeInstanceOf(Lines);
    expect(s3.source).toEqual({ bucket: 'my-bucket', key: 'logs/day.log' });
    expect(s3.chunkBytes).toBe(1 << 20);
  });

  it('rejects bad sources and options', () => {
    const bad: unknown[] = [
      '',
      new URL('https://example.com/x'),
      { bucket: 'A', key: 'k' },
      { bucket: 'ok-bucket', key: '' },
      { bucket: 'ok-bucket', key: 'k'.repeat(1025) },
      { bucket: 'ok-bucket' },
      null,
      42,
    ];
    for (const s of bad) expect(() => lines(s as string), String(s)).toThrow(InvalidArgumentError);
    for (const chunkBytes of [0, -1, 1.5, Number.NaN, '1'])
      expect(() => lines('/tmp/x', { chunkBytes: chunkBytes as number })).toThrow(InvalidArgumentError);
  });

  it('default range length: a quarter per worker, between 64 KiB and 64 MiB', () => {
    expect(defaultChunkBytes(0, 4)).toBe(64 * 1024);
    expect(defaultChunkBytes(160 * 1024 * 1024, 2)).toBe(20 * 1024 * 1024);
    expect(defaultChunkBytes(1e12, 1)).toBe(64 * 1024 * 1024);
    expect(rangeCount(0, 10)).toBe(0);
    expect(rangeCount(21, 10)).toBe(3);
  });
});

describe('FileObjectReader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fanfold-lines-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads sizes and exact byte ranges', async () => {
    const path = join(dir, 'f.txt');
    writeFileSync(path, '0123456789');
    const r = new FileObjectReader();
    expect(await r.size({ path })).toBe(10);
    expect(Buffer.from(await r.read({ path }, 2, 7)).toString()).toBe('23456');
    expect((await r.read({ path }, 4, 4)).length).toBe(0);
  });

  it('a file missing when planned is refused, one gone or short while read is a ProtocolError; an S3 source is refused', async () => {
    const r = new FileObjectReader();
    await expect(r.size({ path: join(dir, 'nope') })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(r.read({ path: join(dir, 'nope') }, 0, 1)).rejects.toMatchObject({ name: 'ProtocolError' });
    const path = join(dir, 'short.txt');
    writeFileSync(path, 'abc');
    await expect(r.read({ path }, 0, 10)).rejects.toMatchObject({ name: 'ProtocolError' });
    await expect(r.size({ bucket: 'b-b', key: 'k' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
