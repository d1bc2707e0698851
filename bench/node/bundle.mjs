// What a first map pays for the workers' bundle: the cache check on an unchanged tasks module, and
// bundling on a cold cache.
// usage: bundle.mjs check|cold
//   check: the bundle of the thread entry for bench/.out/tasks.js, as the pool asks for it, in a fresh
//     process with the on-disk cache warm (the harness's warm-up round made it): check_ms, cache_hit.
//   cold: the same entry with a comment that changes its cache key, so nothing cached answers (esbuild
//     is loaded and run, the bundle written); the bundle is removed afterwards: build_ms.
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, bundleStats } from '../../dist/src/local/bundle.js';
import { threadScript } from '../../dist/src/local/runtime.js';
import tasks from '../.out/tasks.js';
import { emit, fail, ms, now } from './common.mjs';

const mode = process.argv[2];
if (mode === 'check') {
  const t0 = now();
  await threadScript(tasks);
  const t1 = now();
  const { builds, cacheHits } = bundleStats();
  emit({ case: 'bundle', mode, check_ms: ms(t0, t1), cache_hit: cacheHits === 1 && builds === 0 });
} else if (mode === 'cold') {
  const tasksPath = fileURLToPath(tasks.module);
  const entry = new URL('../../dist/src/local/thread-entry.js', import.meta.url);
  const contents =
    `import registry from ${JSON.stringify(tasksPath)};\n` +
    `import { serveLocalTasks } from ${JSON.stringify(fileURLToPath(entry))};\n` +
    `serveLocalTasks(registry);\n// cold ${process.pid} ${Date.now()}\n`;
  const t0 = now();
  const file = await bundle({ contents, resolveDir: dirname(tasksPath), name: 'bench-cold' });
  const t1 = now();
  if (bundleStats().builds !== 1) fail('the cold bundle was answered from a cache');
  await rm(file, { force: true });
  await rm(`${file}.json`, { force: true });
  emit({ case: 'bundle', mode, build_ms: ms(t0, t1) });
} else {
  fail(`unknown mode ${mode}`);
}
