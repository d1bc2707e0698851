/**
 * Test helper: worker threads started from a TypeScript fixture. Node runs no .ts in a `Worker`, so
 * the fixture is bundled with esbuild (once per test file) into a temp dir, and threads start from
 * the bundle.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll } from 'vitest';

/** A fixture bundled to one ES module: its URL, and `dispose()` to remove the temp dir. */
export interface BundledThread {
  readonly url: URL;
  dispose(): Promise<void>;
}

/** Bundles the fixture at `entry` (a file URL to a .ts) with its imports into one .mjs. */
export async function bundleThread(entry: URL): Promise<BundledThread> {
  const path = fileURLToPath(entry);
  const name = basename(path, extname(path));
  const outdir = await mkdtemp(join(tmpdir(), `fanfold-${name}-`));
  await build({
    entryPoints: [path],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir,
    // .mjs: the temp dir has no package.json saying "type": "module".
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
  });
  return {
    url: pathToFileURL(join(outdir, `${name}.mjs`)),
    dispose: () => rm(outdir, { recursive: true, force: true }),
  };
}

/** A fixture bundled for the current test file; see {@link useThreadFixture}. */
export interface ThreadFixture {
  /** The bundle's URL (once the file's `beforeAll` hooks have run). */
  readonly url: URL;
  /** Starts a thread on the bundle with `workerData`; it is terminated after the test. */
  start(workerData: unknown): Worker;
}

/**
 * Registers the hooks of a test file that starts threads from the fixture at `entry`: bundles it
 * before the file's tests, terminates the threads {@link ThreadFixture.start} started after each test
 * (vitest runs after-hooks last-registered first: call this after registering clean-ups that must
 * run once the threads are gone), and removes the bundle after the file.
 */
export function useThreadFixture(entry: URL): ThreadFixture {
  let bundled: BundledThread | undefined;
  const workers: Worker[] = [];
  beforeAll(async () => {
    bundled = await bundleThread(entry);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.terminate()));
  });
  afterAll(async () => {
    await bundled?.dispose();
  });
  return {
    get url(): URL {
      if (!bundled) throw new Error(`${entry.href} is bundled in beforeAll; use it inside a test`);
      return bundled.url;
    },
    start(workerData: unknown): Worker {
      const w = new Worker(this.url, { workerData });
      workers.push(w);
      return w;
    },
  };
}

/**
 * The next message `w` posts. Rejects with the thread's error, or if it exits first (a fixture
 * that dies must fail its test, not leave it waiting for the timeout).
 */
export function nextMessage<T = unknown>(w: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const settle = () => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    const onMessage = (m: T) => {
      settle();
      resolve(m);
    };
    const onError = (e: Error) => {
      settle();
      reject(e);
    };
    const onExit = (code: number) => {
      settle();
      reject(new Error(`thread exited with ${code} before posting`));
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
  });
}
