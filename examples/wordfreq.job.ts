/**
 * THE example: word frequencies over every text file in the project's `node_modules`, a
 * map-reduce that runs on any machine after `npm install`. It runs once on one worker thread and
 * once on all cores, checks that both agree, and reports the speed-up.
 *
 *   npm start                                    # = fanfold run examples/wordfreq.job.ts
 *   npx fanfold run examples/wordfreq.job.ts --processes 4 -- some/other/dir
 */
import { readdir, stat } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineJob, local } from 'fanfold';
import tasks, { type Counts } from './wordfreq.tasks.js';

const TEXT_EXTENSIONS = new Set([
  '.md',
  '.markdown',
  '.txt',
  '.ts',
  '.mts',
  '.cts',
  '.js',
  '.mjs',
  '.cjs',
  '.jsx',
  '.tsx',
  '.json',
  '.yml',
  '.yaml',
  '.html',
  '.css',
  '.flow',
]);
const MAX_FILE_BYTES = 1 << 20;
const TOP = 15;

interface TextFile {
  readonly path: string;
  readonly size: number;
}

/**
 * Text files under `dir` up to 1 MiB, sorted. Hidden entries (`.bin`, `.cache`, where fanfold keeps
 * its bundles) and symlinks are skipped, so both runs see the same files and none twice.
 */
async function textFiles(dir: string): Promise<TextFile[]> {
  const found: TextFile[] = [];
  // The entries of a directory are looked at concurrently; the sort below restores a stable order.
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    await Promise.all(
      entries.map(async (entry) => {
        if (entry.name.startsWith('.')) return;
        const path = join(d, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile() && TEXT_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
          const { size } = await stat(path);
          if (size <= MAX_FILE_BYTES) found.push({ path, size });
        }
      }),
    );
  };
  await walk(dir);
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The files in a fixed pseudo-random order. Chunks are runs of consecutive items, and in path
 * order the big files cluster (all of `typescript/lib` in one chunk): the thread that draws that
 * chunk then works alone at the end. Mixed, every chunk holds about the same number of bytes.
 */
function spread(files: readonly TextFile[]): TextFile[] {
  const key = (path: string): number => {
    let h = 0x811c9dc5; // FNV-1a: stable from run to run, unlike Math.random
    for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
    return h >>> 0;
  };
  return files
    .map((f) => ({ f, k: key(f.path) }))
    .sort((a, b) => a.k - b.k)
    .map(({ f }) => f);
}

/** The `n` most frequent words, most frequent first (ties alphabetically). */
function top(counts: Counts, n: number): [string, number][] {
  return Object.entries(counts)
    .sort(([wa, a], [wb, b]) => b - a || (wa < wb ? -1 : wa > wb ? 1 : 0))
    .slice(0, n);
}

/** True when both counts hold the same words with the same numbers. */
function sameCounts(a: Counts, b: Counts): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

export default defineJob(async (ctx) => {
  const root = resolve(ctx.args[0] ?? fileURLToPath(new URL('../node_modules', import.meta.url)));
  const files = await textFiles(root);
  if (files.length === 0) throw new Error(`No text files under ${root}: run npm install first`);
  const paths = spread(files).map((f) => f.path);
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  ctx.log(`wordfreq: ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB under ${root}`);

  const mp = local({ tasks });
  const threads = ctx.processes ?? mp.cpuCount();
  const countWith = async (processes: number): Promise<{ counts: Counts; ms: number }> => {
    await using pool = mp.Pool({ processes });
    // Time the counting, not the start-up: one tiny call waits for the threads (and, on the first
    // run, for the tasks module to be bundled).
    await pool.apply('mergeCounts', [{}, {}]);
    const start = performance.now();
    const counts = await pool.mapReduce('countWords', paths, 'mergeCounts', {
      initial: {},
      onProgress: ctx.onProgress,
    });
    return { counts, ms: performance.now() - start };
  };

  // The machine may be shared: what else ran decides how much of the speed-up two threads can show.
  const loadBefore = loadavg()[0]!;
  ctx.log('run 1 of 2: one thread (the baseline), then all threads');
  const one = await countWith(1);
  ctx.log(`run 2 of 2: ${threads} threads`);
  const many = await countWith(threads);
  const loadAfter = loadavg()[0]!;
  const cores = cpus().length;
  // More than half the cores busy before the runs: the pool's threads compete for their cores.
  const busy = loadBefore > cores / 2;
  if (!sameCounts(one.counts, many.counts)) {
    throw new Error(
      `The counts of 1 thread and of ${threads} threads differ: the reducer is not associative`,
    );
  }

  // No `items`: the CLI's rate would divide by both runs' time; the pool's own rate is below.
  return {
    result: top(many.counts, TOP),
    details: {
      files: files.length,
      bytes: `${(bytes / 1e6).toFixed(1)} MB`,
      'distinct words': Object.keys(many.counts).length,
      'time 1 thread': `${(one.ms / 1000).toFixed(2)} s`,
      [`time ${threads} threads`]: `${(many.ms / 1000).toFixed(2)} s`,
      [`rate ${threads} threads`]: `${Math.round((files.length * 1000) / many.ms)} files/s`,
      'speed-up': `${(one.ms / many.ms).toFixed(2)}x${busy ? ' (machine busy: understated)' : ''}`,
      'machine load': `${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)} on ${cores} cores (1-min load average before → after)`,
    },
  };
});
