/**
 * What the managed dicts and lists of both contexts do with their values beyond storing them:
 * nesting (a managed list or dict held in another travels as its handle and comes back as a proxy
 * of the same object, as CPython nests proxies), equality (`count`, `index`, `remove`: deep
 * equality, as CPython compares with `==`) and order (`sort`: CPython's `<` on numbers, strings and
 * sequences of them).
 */
import { isDeepStrictEqual } from 'node:util';
import { InvalidArgumentError, NotSerializableError } from '../errors.js';
import { fromWire, isHandle, type Reviver, type SyncHandle, toWire } from '../handles.js';
import { refuseClassInstance } from '../plain-data.js';

/** The kinds of primitive a managed object may hold. */
const NESTABLE = new Set(['DictProxy', 'ListProxy']);

function nestable(h: SyncHandle, ctx: SyncHandle['ctx']): boolean {
  return NESTABLE.has(h.kind) && h.ctx === ctx;
}

/**
 * `value` as a managed object stores it: each managed dict or list of context `ctx` in it (arrays
 * and plain objects, as deep as a task's arguments are searched) replaced by its handle. Any other
 * primitive throws {@link NotSerializableError} naming `what`: a Lock, a Queue… is shared by passing
 * it to a task, not through a manager (CPython cannot pickle one into a manager either). So does a
 * class instance (its `className` set).
 */
export function storable(value: unknown, what: string, ctx: SyncHandle['ctx']): unknown {
  // A class instance would be read back as a plain object without its methods: refused, as in a
  // task's argument or result, a queue item or a pipe message.
  refuseClassInstance(value, what, undefined, 'a reader of the managed object');
  const { value: out, found } = toWire(value);
  if (!found) return value;
  fromWire(out, (h) => {
    if (!nestable(h, ctx)) {
      throw new NotSerializableError(
        `${what} holds a ${h.kind} of the ${h.ctx} context, which`,
        undefined,
        new Error(
          `a managed dict or list holds only managed dicts and lists of its own context; pass a ${h.kind} to a task as an argument`,
        ),
      );
    }
    return h;
  });
  return out;
}

/** `value` as read from a managed object: the handles of managed dicts and lists of `ctx` revived. */
export function revivedValue<T>(value: T, ctx: SyncHandle['ctx'], revive: Reviver): T {
  if (typeof value !== 'object' || value === null) return value;
  return fromWire(value, (h) => (nestable(h, ctx) ? revive(h) : h)) as T;
}

/** Whether two stored values are equal: deep equality of their structured-clone forms (`count`, `index`, `remove`). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (isHandle(a) && isHandle(b))
    return a.ctx === b.ctx && a.kind === b.kind && isDeepStrictEqual(a.data, b.data);
  return isDeepStrictEqual(a, b);
}

type Ordered = 'number' | 'string' | 'array' | 'date';

function orderKind(v: unknown): Ordered | undefined {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return 'number';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'date';
  return undefined;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'Date';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** Compares strings by code point, as CPython does (JavaScript's `<` compares UTF-16 units). */
function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * The order `sort()` uses, CPython's `<`: numbers (with bigints and booleans) by value, strings by
 * code point, arrays element by element then by length, dates by time. Anything else, or two kinds
 * that do not compare, throws {@link InvalidArgumentError} (CPython: `TypeError`).
 */
export function compareValues(a: unknown, b: unknown): number {
  const ka = orderKind(a);
  const kb = orderKind(b);
  if (ka === undefined || ka !== kb) {
    throw new InvalidArgumentError(
      `sort() orders numbers, strings, dates and arrays of them, each with its own kind; it cannot compare ${describe(a)} with ${describe(b)}`,
    );
  }
  switch (ka) {
    case 'number': {
      const x = typeof a === 'boolean' ? Number(a) : (a as number | bigint);
      const y = typeof b === 'boolean' ? Number(b) : (b as number | bigint);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'string':
      return compareStrings(a as string, b as string);
    case 'date':
      return Math.sign((a as Date).getTime() - (b as Date).getTime());
    case 'array': {
      const x = a as readonly unknown[];
      const y = b as readonly unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return Math.sign(x.length - y.length);
    }
  }
}

/**
 * The order of `values` after a stable sort (descending when `reverse`, equal elements keeping
 * their order, as CPython's `reverse=True`): the indices of `values`, sorted.
 */
export function sortedOrder(values: readonly unknown[], reverse: boolean): number[] {
  const order = values.map((_, i) => i);
  order.sort((i, j) => (reverse ? -1 : 1) * compareValues(values[i], values[j]));
  return order;
}
