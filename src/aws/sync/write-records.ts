/**
 * What makes a counted write idempotent under the SDK's retries: `Value.add`, `Array.add`, the
 * queues' counters and a managed dict's `increment` are `ADD`s, which a retry of an applied write (its answer lost) would apply a
 * second time. Each such write now also sets a **record**, an attribute of the primitive's own item
 * named after a fresh nonce, and is conditioned on that attribute being absent. The SDK resends
 * the very request, so the retry of an applied write is refused, and the item it finds holds the
 * record: the write was applied, once, and the record's value is its result (an add's sum).
 *
 * Records are kept few, so the item (and the write units every write pays for its size) stays
 * small: each write REMOVEs the records of this party's earlier writes to the item that have been
 * answered (no retry of theirs can come any more), so a party leaves at most one record behind
 * beside its writes in flight; and the records of parties gone (older than {@link RETAIN_MS} by the
 * time in their name) are removed by whoever sees them, in an answer that holds the whole item
 * (the queues' writes always have one; a Value or Array write asks for it once per
 * {@link RETAIN_MS}). docs/primitives.md, section 3.3, has the costs and the limits.
 */
import { randomBytes } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Expr } from '../dynamo-items.js';
import type { AwsSyncEnv } from './env.js';

type Item = Record<string, AttributeValue>;

/**
 * How long a record is kept for a retry of its write. The SDK retries within seconds (3 attempts,
 * backoff capped at 20 s); this margin also covers the skew between the writer's clock, which
 * names the record, and the clock of the party that removes it.
 */
export const RETAIN_MS = 5 * 60_000;
/** Most records one write removes (each is a name in its expression, at most 4 KB). */
const MAX_REMOVED = 16;
/** Items whose records one party tracks; the least recently written are forgotten first. */
const MAX_ITEMS = 1_000;

/** `o`, the writer's clock in base 36 (9 digits), then 8 hex digits of nonce. */
const RECORD = /^o([0-9a-z]{9})[0-9a-f]{8}$/;

/** One counted write: its record's name and the records it removes. */
export interface CountedWrite {
  /** The record's attribute name (a fresh nonce). */
  readonly name: string;
  /** Records this write removes, if it is applied. */
  readonly removes: readonly string[];
  /** Whether to ask for the whole item in the answer (to find records of parties gone). */
  readonly wantsItem: boolean;
}

/** The parts of an update expression for `w`, with its placeholders in `x`. */
export function recordParts(
  w: CountedWrite,
  x: Expr,
): { readonly name: string; readonly absent: string; readonly remove: string } {
  const name = x.n(w.name);
  return {
    name,
    absent: `attribute_not_exists(${name})`,
    remove: w.removes.length === 0 ? '' : `REMOVE ${w.removes.map((r) => x.n(r)).join(', ')}`,
  };
}

/** The records of one party on one item. */
export class WriteRecords {
  /** This party's answered writes whose records are still in the item. */
  readonly #own = new Set<string>();
  /** Records of other parties seen older than {@link RETAIN_MS}. */
  readonly #stale = new Set<string>();
  /** When this party last saw the whole item (to find stale records). */
  #looked = Number.NEGATIVE_INFINITY;

  /** A new counted write. */
  begin(): CountedWrite {
    const now = Date.now();
    const removes: string[] = [];
    for (const set of [this.#own, this.#stale]) {
      for (const r of set) {
        if (removes.length >= MAX_REMOVED) break;
        if (!removes.includes(r)) removes.push(r);
      }
    }
    return {
      name: `o${now.toString(36).padStart(9, '0')}${randomBytes(4).toString('hex')}`,
      removes,
      wantsItem: now - this.#looked >= RETAIN_MS,
    };
  }

  /**
   * After `w` was answered. `applied`: it, or an earlier attempt of it, wrote its record (and
   * removed what it removes); `item`: the whole item, when the answer held it.
   */
  end(w: CountedWrite, applied: boolean, item?: Item): void {
    if (applied) {
      for (const r of w.removes) {
        this.#own.delete(r);
        this.#stale.delete(r);
      }
      this.#own.add(w.name);
    }
    if (item === undefined) return;
    const now = Date.now();
    this.#looked = now;
    for (const name of Object.keys(item)) {
      const m = RECORD.exec(name);
      if (m?.[1] !== undefined && now - Number.parseInt(m[1], 36) > RETAIN_MS) this.#stale.add(name);
    }
  }
}

/** The records of each party (environment), per item id. */
const parties = new WeakMap<AwsSyncEnv, Map<string, WriteRecords>>();

/** The records of `env`'s party on item `id`. */
export function recordsOf(env: AwsSyncEnv, id: string): WriteRecords {
  let items = parties.get(env);
  if (items === undefined) {
    items = new Map();
    parties.set(env, items);
  }
  let records = items.get(id);
  if (records === undefined) {
    records = new WriteRecords();
    // Forgotten records of this party stay in their item until another party finds them stale.
    if (items.size >= MAX_ITEMS) items.delete(items.keys().next().value as string);
  } else {
    items.delete(id);
  }
  items.set(id, records);
  return records;
}
