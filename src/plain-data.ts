/**
 * Class instances do not survive the trip to a worker: structured clone (`v8.serialize`) copies an
 * object's own fields and drops its prototype, so a task would receive a plain object whose
 * methods are gone, with nothing said. CPython's pickle sends the class by reference and rebuilds
 * the instance, because the child imports the same module; a fanfold message never carries code,
 * and a class named in a message could not be found in a worker by name either (the tasks bundle
 * does not export it). So an argument that holds one is refused when the call is made, naming the
 * class, where it sits, and what to pass instead (docs/primitives.md, "What travels").
 */
import { NotSerializableError } from './errors.js';
import { isShareable } from './handles.js';

/** Prototypes whose instances structured clone rebuilds as they were. */
const CLONEABLE: ReadonlySet<object | null> = new Set<object | null>([
  null,
  Object.prototype,
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  RegExp.prototype,
  ArrayBuffer.prototype,
  SharedArrayBuffer.prototype,
  DataView.prototype,
  Buffer.prototype,
  Boolean.prototype,
  Number.prototype,
  String.prototype,
  BigInt.prototype,
  Int8Array.prototype,
  Uint8Array.prototype,
  Uint8ClampedArray.prototype,
  Int16Array.prototype,
  Uint16Array.prototype,
  Int32Array.prototype,
  Uint32Array.prototype,
  Float32Array.prototype,
  Float64Array.prototype,
  BigInt64Array.prototype,
  BigUint64Array.prototype,
  ...[Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError].map((c) => c.prototype),
]);

/** A class instance found in a value: its class's name and where it sits (`''` for the value itself). */
export interface ClassInstance {
  readonly className: string;
  readonly path: string;
}

/** The first class instance in `value` (arrays, plain objects, Maps and Sets are searched), if any. */
export function findClassInstance(value: unknown): ClassInstance | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const found = search(value, new Set());
  return found && { className: found.className, path: found.parts.reverse().join('') };
}

/** A find whose path is built on the way back out (`parts` innermost first): none is built otherwise. */
interface Found {
  readonly className: string;
  readonly parts: string[];
}

function search(v: object, seen: Set<object>): Found | undefined {
  // A primitive (Lock, Queue…) where no handle replaced it is refused by the codec, in its words.
  if (isShareable(v)) return undefined;
  const proto: unknown = Object.getPrototypeOf(v);
  if (!CLONEABLE.has(proto as object | null)) {
    const ctor = (proto as { constructor?: { name?: unknown } } | null)?.constructor;
    const name = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : '(anonymous)';
    return { className: name, parts: [] };
  }
  if (seen.has(v)) return undefined;
  seen.add(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = inside(v[i], seen);
      if (found) return at(found, `[${i}]`);
    }
  } else if (v instanceof Map) {
    for (const [k, x] of v) {
      const inKey = inside(k, seen);
      if (inKey) return at(inKey, '.<map key>');
      const found = inside(x, seen);
      if (found) return at(found, `.get(${describeKey(k)})`);
    }
  } else if (v instanceof Set) {
    for (const x of v) {
      const found = inside(x, seen);
      if (found) return at(found, '.<set member>');
    }
  } else if (proto === Object.prototype || proto === null) {
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      const found = inside((v as Record<string, unknown>)[k], seen);
      if (found) return at(found, `.${k}`);
    }
  }
  return undefined;
}

/** Searches `x` when it is an object (no path is built for a value that holds no instance). */
function inside(x: unknown, seen: Set<object>): Found | undefined {
  return typeof x === 'object' && x !== null ? search(x, seen) : undefined;
}

/** Adds the step into the value where the instance was found, on the way back out. */
function at(found: Found, part: string): Found {
  found.parts.push(part);
  return found;
}

function describeKey(k: unknown): string {
  return typeof k === 'string' ? JSON.stringify(k) : typeof k === 'object' ? '…' : String(k);
}

/**
 * Why a class instance is refused, and what to pass instead (the message of the error's cause);
 * `to` names who would receive the value (`the task`, `the caller`, `the receiver`).
 */
export function classInstanceMessage(found: ClassInstance, to = 'the task'): string {
  const where = found.path === '' ? '' : ` (at ${found.path})`;
  return (
    `it holds an instance of class ${found.className}${where}, which would reach ${to} as a plain ` +
    'object without its methods (structured clone copies own fields only, and code never travels): ' +
    'send plain data (its fields, e.g. { ...value } or value.toJSON()) and rebuild the instance ' +
    `where it arrives`
  );
}

/**
 * Throws {@link NotSerializableError} (its `position` and `className` set) for the first of `values`
 * that holds a class instance; `what` and `offset` name positions as the codec does.
 */
export function refuseClassInstances(
  values: readonly unknown[],
  what: string,
  offset: number,
  to = 'the task',
): void {
  for (let i = 0; i < values.length; i++) refuseClassInstance(values[i], what, offset + i, to);
}

/**
 * Throws {@link NotSerializableError} (`className` set, `position` when given) when `value` holds a
 * class instance: a task result, a queue item or a pipe message, checked before it is sent.
 */
export function refuseClassInstance(
  value: unknown,
  what: string,
  position: number | undefined,
  to: string,
): void {
  const found = findClassInstance(value);
  if (found)
    throw new NotSerializableError(
      what,
      position,
      new TypeError(classInstanceMessage(found, to)),
      found.className,
    );
}
