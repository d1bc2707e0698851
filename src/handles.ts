/**
 * How a primitive (Lock, Queue, Value, …) travels to a task: the caller's argument walk replaces
 * each primitive by its handle, a small plain object that survives `v8.serialize`, and the thread
 * that runs the task turns each handle back into a live primitive on the same shared state (the
 * same shared memory on the local context, the same DynamoDB item or SQS queue on AWS). No code
 * travels: a handle names state, never behaviour.
 *
 * The wire format lives beside `ports.ts` because the engine uses it on both sides (the job client
 * walks the caller's items, `run-chunk.ts` revives handles in the thread) and each context's
 * primitives implement it; `src/index.ts` exports the public types.
 */
import { ProtocolError } from './errors.js';

/** The method by which a primitive gives its handle. */
export const SHARE: unique symbol = Symbol.for('fanfold.share') as never;

/** What a primitive's handle looks like on the wire. */
export interface SyncHandle {
  /** Marks a handle on the wire. */
  readonly $fanfold: 'handle';
  /** Which context's state it names. */
  readonly ctx: 'local' | 'aws';
  /** The primitive's kind, e.g. `Lock`, `Queue`, `Connection`. */
  readonly kind: string;
  /** Whatever the context needs to find the state again (plain, structured-clone data). */
  readonly data: Readonly<Record<string, unknown>>;
}

/** A primitive that can be passed to a task. */
export interface Shareable {
  /** @internal The handle that names this primitive's state. */
  [SHARE](): SyncHandle;
}

/** Turns a handle back into a live primitive (set by each context's sync module). */
export type Reviver = (handle: SyncHandle) => unknown;

/** How deep arguments are searched for primitives (arrays and plain objects). */
export const MAX_DEPTH = 4;

let shareablesMade = false;

/**
 * The own enumerable property every primitive carries. Its value is a function, which `v8.serialize`
 * and structured clone refuse: a primitive the argument walk did not replace by its handle (deeper
 * than {@link MAX_DEPTH}, inside a Map, a Set or a class instance, or put in a queue) makes the call
 * fail with `NotSerializableError` instead of arriving as a dead plain object such as `{ kind: 'Lock' }`.
 */
export const PRIMITIVE_MARK = '$fanfoldPrimitive';

function aFanfoldPrimitiveTravelsOnlyInArraysAndPlainObjectsUpTo4LevelsDeep(): never {
  throw new ProtocolError('A primitive is not callable');
}

/**
 * @internal Marks `p` with {@link PRIMITIVE_MARK} (once; anything that is not a primitive is left
 * alone). Called by constructors and, for every primitive a context's factories or revivers return,
 * by the context's sync index.
 */
export function markShareable<T>(p: T): T {
  if (isShareable(p) && !Object.hasOwn(p, PRIMITIVE_MARK)) {
    Object.defineProperty(p, PRIMITIVE_MARK, {
      value: aFanfoldPrimitiveTravelsOnlyInArraysAndPlainObjectsUpTo4LevelsDeep,
      enumerable: true,
    });
  }
  return p;
}

/**
 * @internal Called by every primitive's constructor, so argument walks run only once one exists;
 * given the primitive (`noteShareable(this)`), it also marks it ({@link markShareable}).
 */
export function noteShareable(self?: object): void {
  shareablesMade = true;
  if (self !== undefined) markShareable(self);
}

export function isShareable(v: unknown): v is Shareable {
  return typeof v === 'object' && v !== null && typeof (v as Partial<Shareable>)[SHARE] === 'function';
}

export function isHandle(v: unknown): v is SyncHandle {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { $fanfold?: unknown }).$fanfold === 'handle' &&
    typeof (v as { kind?: unknown }).kind === 'string'
  );
}

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function walk(v: unknown, depth: number, map: (x: object) => unknown | undefined): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const replaced = map(v);
  if (replaced !== undefined) return replaced;
  if (depth >= MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const y = walk(x, depth + 1, map);
      if (y !== x) {
        out ??= v.slice();
        out[i] = y;
      }
    }
    return out ?? v;
  }
  if (!isPlain(v)) return v;
  let out: Record<string, unknown> | undefined;
  for (const [k, x] of Object.entries(v)) {
    const y = walk(x, depth + 1, map);
    if (y !== x) {
      out ??= { ...(v as Record<string, unknown>) };
      out[k] = y;
    }
  }
  return out ?? v;
}

/** Whether any primitive has been made in this thread: until then no value can hold one. */
export function anyShareables(): boolean {
  return shareablesMade;
}

/**
 * Replaces every primitive in `value` (up to {@link MAX_DEPTH} levels of arrays and plain objects)
 * by its handle, copying only the containers on the way; `found` tells whether any was replaced.
 * Costs nothing until a primitive has been made in this thread.
 */
export function toWire(value: unknown): { value: unknown; found: boolean } {
  if (!shareablesMade) return { value, found: false };
  let found = false;
  const out = walk(value, 0, (x) => {
    if (!isShareable(x)) return undefined;
    found = true;
    return x[SHARE]();
  });
  return { value: out, found };
}

/** Replaces every handle in `value` by a live primitive made by `revive`. */
export function fromWire(value: unknown, revive: Reviver): unknown {
  return walk(value, 0, (x) => (isHandle(x) ? revive(x) : undefined));
}

/** A reviver that refuses every handle (a context with no sync state here). */
export function refuseHandles(where: string): Reviver {
  return (h) => {
    throw new ProtocolError(`A ${h.kind} handle of the ${h.ctx} context cannot be used ${where}`);
  };
}
