/**
 * Importing fanfold must stay cheap for programs that only use the local context: the AWS SDK
 * (about 0.3 s to parse at start) is loaded on first use of `aws()`, never by a static import.
 * bench/RESULTS.md §0 measures the import; this test keeps the cause from coming back.
 */
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every module reachable from `entry` through static `import` statements only. */
function staticClosure(meta: Metafile, entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of meta.inputs[file]?.imports ?? []) {
      if (imp.kind === 'import-statement' && !imp.path.startsWith('node:')) todo.push(imp.path);
    }
  }
  return seen;
}

describe('the import graph of fanfold', () => {
  it('reaches no AWS SDK module through static imports (it loads on first use of aws())', async () => {
    const out = await build({
      entryPoints: ['src/index.ts'],
      absWorkingDir: root,
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'silent',
      external: ['esbuild'],
    });
    const closure = [...staticClosure(out.metafile, 'src/index.ts')];
    expect(closure.length).toBeGreaterThan(10);
    expect(closure.filter((f) => f.includes('@aws-sdk') || f.includes('@smithy'))).toEqual([]);
    // The SDK is still reachable, through the dynamic import of aws/connect.ts.
    expect(Object.keys(out.metafile.inputs).some((f) => f.includes('@aws-sdk/client-lambda'))).toBe(true);
  });
});
