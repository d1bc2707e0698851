/**
 * Second parties for the local context: worker threads started on the caller's shared-memory arena
 * (as every pool thread is), each with its own owner identity, reviving the handles they are sent.
 */
import { Worker } from 'node:worker_threads';
import { SHARE, type Shareable } from '../../../src/handles.js';
import { arena } from '../../../src/local/sync/arena.js';
import { type BundledThread, bundleThread } from '../../support/threads.js';
import { type Party, PartyError, type WireError } from './harness.js';

/** Bundles the party thread once; returns its URL and a cleanup. */
export function bundlePartyThread(): Promise<BundledThread> {
  return bundleThread(new URL('./local-party.thread.ts', import.meta.url));
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

/** Starts a party thread from the bundled script. */
export function startLocalParty(url: URL): Party {
  const worker = new Worker(url, { workerData: { arena: arena().sab } });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let next = 0;
  let exited: Error | undefined;
  worker.on('message', (r: Reply) => {
    const p = pending.get(r.id);
    pending.delete(r.id);
    if (r.ok) p?.resolve(r.value);
    else p?.reject(new PartyError(r.error));
  });
  const fail = (e: Error) => {
    exited = e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`party thread exited with ${code}`)));
  return {
    call<R>(target: Shareable, method: string, ...args: unknown[]): Promise<R> {
      if (exited) return Promise.reject(exited);
      const id = next++;
      return new Promise<R>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        worker.postMessage({ id, handle: target[SHARE](), method, args });
      });
    },
    async close() {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}
