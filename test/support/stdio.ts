/**
 * What a piece of code writes to stdout and stderr, as the JSON lines a Lambda function's log
 * group would receive: Powertools' Logger and Metrics write through a `Console` of their own on
 * `process.stdout` and `process.stderr`, so the streams themselves are listened to (a spy on the
 * global `console` would see nothing).
 */

/** One JSON line written. */
export type JsonLine = Record<string, unknown>;

/** Runs `fn` with everything written to stdout and stderr kept (and not shown); returns the JSON lines. */
export async function captureJsonLines(fn: () => Promise<unknown>): Promise<JsonLine[]> {
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((s) => s.write);
  let text = '';
  for (const s of streams) {
    s.write = ((chunk: string | Uint8Array) => {
      text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    }) as typeof s.write;
  }
  try {
    await fn();
  } finally {
    streams.forEach((s, k) => {
      s.write = writes[k]!;
    });
  }
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonLine);
}
