/**
 * The benchmark's tasks module. run.mjs bundles it with esbuild into bench/.out/tasks.js (fanfold
 * aliased to dist/src/index.js) because Node 20 cannot import TypeScript; the case scripts and fanfold's
 * workers all load that bundle. Every task has a twin in bench/py/common.py that does the same work.
 */
import { createHash } from 'node:crypto';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { type Connection, defineTasks, type Event, type Queue, type Value } from 'fanfold';

const MIB = 1 << 20;

/** `x = (x * 31 + i) mod 2^32`, `p` times: the same three integer ops and result as Python's `spin`. */
function spin(p: number): number {
  let x = 0;
  for (let i = 0; i < p; i++) x = (Math.imul(x, 31) + i) >>> 0;
  return x;
}

/** sha256 over `mib` × 1 MiB of 0x61 bytes, hex digest: the same bytes and digest as Python's `sha`. */
function sha(mib: number): string {
  const block = Buffer.alloc(MIB, 0x61);
  const h = createHash('sha256');
  for (let i = 0; i < mib; i++) h.update(block);
  return h.digest('hex');
}

/**
 * Resolves once `n` different threads are inside this task at the same time, with this thread's id.
 * Arrivals announce themselves on a BroadcastChannel; a thread that hears a new peer announces itself
 * again, so a thread that opened its channel late still learns of the ones that came before it.
 * Used to wait until every worker of a pool has answered once (warm pool, start-up time).
 */
function rendezvous(n: number): Promise<number> {
  const channel = new BroadcastChannel('fanfold-bench-rendezvous');
  const seen = new Set<number>([threadId]);
  return new Promise<number>((resolve, reject) => {
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      channel.close();
      if (err) reject(err);
      else resolve(threadId);
    };
    // A pool that runs two calls on one thread never gets here: fail loudly instead of hanging.
    const timer = setTimeout(() => finish(new Error(`rendezvous: saw ${seen.size} of ${n} threads`)), 10_000);
    channel.onmessage = (event: unknown) => {
      const id = (event as { data: unknown }).data;
      if (typeof id !== 'number' || seen.has(id)) return;
      seen.add(id);
      channel.postMessage(threadId);
      if (seen.size >= n) finish();
    };
    channel.postMessage(threadId);
    if (seen.size >= n) finish();
  });
}

export default defineTasks(
  {
    square: (n: number) => n * n,
    noop: (n: number) => n,
    spin,
    sha,
    rendezvous,
    // The primitives' cases (bench/primitives.mjs), twins of bench/py/primitives.py.
    incLocked: async (v: Value<'i'>, start: Event, n: number) => {
      await start.wait();
      for (let i = 0; i < n; i++) await v.withLock(async () => v.set((await v.get()) + 1));
    },
    incAtomic: async (v: Value<'i'>, start: Event, n: number) => {
      await start.wait();
      for (let i = 0; i < n; i++) await v.add(1);
    },
    echoQueue: async (inq: Queue<number>, outq: Queue<number>, n: number) => {
      for (let i = 0; i < n; i++) await outq.put(await inq.get());
    },
    fillQueue: async (q: Queue<number>, start: Event, n: number) => {
      await start.wait();
      for (let i = 0; i < n; i++) await q.put(i);
    },
    echoPipe: async (conn: Connection<number>, n: number) => {
      for (let i = 0; i < n; i++) await conn.send(await conn.recv());
    },
    fillPipe: async (conn: Connection<number>, start: Event, n: number) => {
      await start.wait();
      for (let i = 0; i < n; i++) await conn.send(i);
    },
    nothing: () => undefined,
  },
  { module: import.meta.url },
);
