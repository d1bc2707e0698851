/**
 * The semantics of the local manager's objects: what each `DictProxy` and `ListProxy` operation does
 * to the state the manager's server holds. These run on the server's thread only, one request at a
 * time, which is what makes each proxy operation atomic. Arguments were validated by the proxy;
 * what depends on the state (an index out of range, `increment` of a non-number) is checked here.
 */

import { position, sliceBounds } from '../../api/manager-args.js';
import { sameValue, sortedOrder } from '../../api/manager-values.js';
import { InvalidArgumentError, ProtocolError } from '../../errors.js';
import { received } from '../../validate.js';

/** The state of one managed object. */
export type ManagedObject =
  | { readonly kind: 'DictProxy'; readonly map: Map<string, unknown> }
  | { readonly kind: 'ListProxy'; items: unknown[] };

/** A dict's or a list's operations, by name: each takes the object and the request's arguments. */
type Ops<O> = Readonly<Record<string, (o: O, args: readonly unknown[]) => unknown>>;

const DICT: Ops<Map<string, unknown>> = {
  get: (m, [k]) => m.get(k as string),
  set: (m, [k, v]) => void m.set(k as string, v),
  delete: (m, [k]) => m.delete(k as string),
  has: (m, [k]) => m.has(k as string),
  pop: (m, [k, fallback]) => {
    if (!m.has(k as string)) return fallback;
    const v = m.get(k as string);
    m.delete(k as string);
    return v;
  },
  setDefault: (m, [k, v]) => {
    if (!m.has(k as string)) m.set(k as string, v);
    return m.get(k as string);
  },
  increment: (m, [k, delta]) => {
    const old = m.has(k as string) ? m.get(k as string) : 0;
    if (typeof old !== 'number') {
      throw new InvalidArgumentError(`Cannot increment key ${JSON.stringify(k)}: it holds ${received(old)}`);
    }
    const next = old + (delta as number);
    m.set(k as string, next);
    return next;
  },
  // CPython's popitem: the last inserted pair (a Map keeps insertion order, and a key set again its place).
  popitem: (m) => {
    let last: string | undefined;
    for (const k of m.keys()) last = k;
    if (last === undefined) throw new InvalidArgumentError('popitem(): the dict is empty');
    const v = m.get(last);
    m.delete(last);
    return [last, v];
  },
  update: (m, [entries]) => {
    for (const [k, v] of Object.entries(entries as Record<string, unknown>)) m.set(k, v);
  },
  keys: (m) => [...m.keys()],
  values: (m) => [...m.values()],
  entries: (m) => [...m.entries()],
  size: (m) => m.size,
  clear: (m) => m.clear(),
  copy: (m) => Object.fromEntries(m),
};

type ListState = { items: unknown[] };

const LIST: Ops<ListState> = {
  get: (l, [i]) => l.items[position(i as number, l.items.length, 'get()')],
  set: (l, [i, v]) => {
    l.items[position(i as number, l.items.length, 'set()')] = v;
  },
  append: (l, [v]) => void l.items.push(v),
  extend: (l, [vs]) => {
    for (const v of vs as unknown[]) l.items.push(v);
  },
  // CPython's insert clamps: an index past either end inserts at that end.
  insert: (l, [i, v]) => {
    const n = l.items.length;
    const idx = i as number;
    const at = idx < 0 ? Math.max(0, n + idx) : Math.min(n, idx);
    l.items.splice(at, 0, v);
  },
  pop: (l, [i]) => {
    if (l.items.length === 0) throw new InvalidArgumentError('pop() from an empty list');
    return l.items.splice(position((i as number | undefined) ?? -1, l.items.length, 'pop()'), 1)[0];
  },
  length: (l) => l.items.length,
  slice: (l, [start, end]) => l.items.slice(start as number | undefined, end as number | undefined),
  clear: (l) => {
    l.items = [];
  },
  count: (l, [v]) => l.items.reduce((n: number, x) => (sameValue(x, v) ? n + 1 : n), 0),
  index: (l, [v, start, end]) => {
    const [s, e] = sliceBounds(start as number | undefined, end as number | undefined, l.items.length);
    for (let i = s; i < e; i++) if (sameValue(l.items[i], v)) return i;
    throw new InvalidArgumentError('index(): the value is not in the list');
  },
  remove: (l, [v]) => {
    const i = l.items.findIndex((x) => sameValue(x, v));
    if (i < 0) throw new InvalidArgumentError('remove(): the value is not in the list');
    l.items.splice(i, 1);
  },
  reverse: (l) => {
    l.items.reverse();
  },
  // Sorted as a permutation first: a value that does not compare throws before the list changes.
  sort: (l, [reverse]) => {
    const items = l.items;
    l.items = sortedOrder(items, reverse === true).map((i) => items[i]);
  },
};

/** Applies operation `op` to `object`; throws `ProtocolError` for an operation its kind lacks. */
export function apply(object: ManagedObject, op: string, args: readonly unknown[]): unknown {
  if (object.kind === 'DictProxy') {
    const f = Object.hasOwn(DICT, op) ? DICT[op] : undefined;
    if (!f) throw new ProtocolError(`A DictProxy has no operation ${JSON.stringify(op)}`);
    return f(object.map, args);
  }
  const f = Object.hasOwn(LIST, op) ? LIST[op] : undefined;
  if (!f) throw new ProtocolError(`A ListProxy has no operation ${JSON.stringify(op)}`);
  return f(object, args);
}
