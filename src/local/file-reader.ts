/** The {@link ObjectReader} port on local files: `lines()` of a file, read by byte ranges. */
import { open, stat } from 'node:fs/promises';
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import type { ObjectReader, ObjectSource } from '../ports.js';

function pathOf(source: ObjectSource): string {
  if (!('path' in source))
    throw new InvalidArgumentError(
      `The local context reads files, not S3 objects (got s3://${source.bucket}/${source.key}): use the AWS context`,
    );
  return source.path;
}

function missing(e: unknown, path: string): never {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR')
    throw new ProtocolError(`Cannot read ${path}: ${code}`);
  throw e;
}

/**
 * Reads byte ranges of files with positioned reads (`fs.open` + `read` at an offset): never more
 * than the range asked for.
 *
 * @example
 * ```ts
 * const reader = new FileObjectReader();
 * const head = await reader.read({ path: '/data/big.csv' }, 0, 1024);
 * ```
 */
export class FileObjectReader implements ObjectReader {
  /**
   * {@inheritDoc ObjectReader.size} Read when the job is planned: a path that names no file is the
   * caller's argument at fault (`InvalidArgumentError` naming it); a file gone later, while the job
   * reads it, is a {@link ProtocolError} (see {@link FileObjectReader.read}).
   */
  async size(source: ObjectSource): Promise<number> {
    const path = pathOf(source);
    let s: Awaited<ReturnType<typeof stat>>;
    try {
      s = await stat(path);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EACCES') throw e;
      throw new InvalidArgumentError(`Expected lines() to name a readable file, got ${path} (${code})`, {
        cause: e,
      });
    }
    if (!s.isFile())
      throw new InvalidArgumentError(`Expected lines() to name a readable file, got ${path} (not a file)`);
    return s.size;
  }

  /** {@inheritDoc ObjectReader.read} */
  async read(source: ObjectSource, start: number, end: number): Promise<Uint8Array> {
    const path = pathOf(source);
    const out = new Uint8Array(end - start);
    const file = await open(path, 'r').catch((e) => missing(e, path));
    try {
      let got = 0;
      while (got < out.length) {
        const { bytesRead } = await file.read(out, got, out.length - got, start + got);
        if (bytesRead === 0)
          throw new ProtocolError(
            `${path} ended at byte ${start + got}, before ${end}: it changed since the job was planned`,
          );
        got += bytesRead;
      }
      return out;
    } finally {
      await file.close();
    }
  }
}
