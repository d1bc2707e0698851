/**
 * The local context's primitives, assembled from one module per family, and the reviver that turns
 * their handles back into live primitives in any thread of this process (all share the arena).
 */
import type { PrimitiveModule, Primitives } from '../../api/context.js';
import { ProtocolError } from '../../errors.js';
import type { Reviver } from '../../handles.js';
import { barrier } from './barrier.js';
import { condition } from './condition.js';
import { connection } from './connection.js';
import { event } from './event.js';
import { locks } from './locks.js';
import { manager } from './manager.js';
import { queues } from './queues.js';
import { semaphores } from './semaphores.js';
import { sharedValues } from './shared-values.js';

const MODULES: readonly PrimitiveModule<void>[] = [
  locks,
  semaphores,
  event,
  condition,
  barrier,
  sharedValues,
  queues,
  connection,
  manager,
];

/** The primitives of the local context. */
export function localPrimitives(): Primitives {
  return Object.assign({}, ...MODULES.map((m) => m.make())) as Primitives;
}

/** Turns a local handle back into a live primitive; refuses other contexts' handles and unknown kinds. */
export const reviveLocal: Reviver = (handle) => {
  if (handle.ctx !== 'local') {
    throw new ProtocolError(`A ${handle.kind} handle of the ${handle.ctx} context reached a local thread`);
  }
  for (const m of MODULES) {
    const revive = m.revive[handle.kind];
    if (revive) return revive(handle);
  }
  throw new ProtocolError(`Unknown local primitive kind ${JSON.stringify(handle.kind)} in a handle`);
};
