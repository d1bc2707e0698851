/**
 * The local context's second party: a worker thread on the caller's arena that revives the handles
 * it is sent and calls one method per message (see local-party.ts). Bundled by esbuild, since
 * Node 20 cannot load .ts in a Worker.
 */
import { parentPort } from 'node:worker_threads';
import type { SyncHandle } from '../../../src/handles.js';
import { reviveLocal } from '../../../src/local/sync/index.js';
import { callPath } from './harness.js';

/** One call: revive `handle` (once) and call `method` with `args`. */
export interface PartyCall {
  readonly id: number;
  readonly handle: SyncHandle;
  readonly method: string;
  readonly args: readonly unknown[];
}

const revived = new Map<string, unknown>();

parentPort?.on('message', (m: PartyCall) => {
  void (async () => {
    try {
      const key = JSON.stringify(m.handle);
      let target = revived.get(key);
      if (target === undefined) {
        target = reviveLocal(m.handle);
        revived.set(key, target);
      }
      const value = await callPath(target, m.method, m.args);
      // Primitives handed back (getLock()) cannot cross: the caller only needs that the call ended.
      // Plain data (an RLock's state()) crosses as it is.
      const plain =
        typeof value !== 'object' ||
        value === null ||
        Array.isArray(value) ||
        Object.getPrototypeOf(value) === Object.prototype;
      parentPort?.postMessage({ id: m.id, ok: true, value: plain ? value : null });
    } catch (e) {
      const err = e as { name?: string; message?: string; code?: string };
      parentPort?.postMessage({
        id: m.id,
        ok: false,
        error: { name: err.name ?? 'Error', message: err.message ?? String(e), code: err.code },
      });
    }
  })();
});
