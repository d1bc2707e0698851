/**
 * The two requests the polling primitives (`Event`, `Condition`, `Barrier`) make on their one item
 * (`pk = SYNC#<id>`, `sk = SYNC`): a strongly consistent read, and one UpdateItem written the
 * Powertools way (named pieces, `ReturnValuesOnConditionCheckFailure: ALL_OLD`, only a refused
 * condition mapped to an outcome). Every update also pushes the TTL attribute a lifetime ahead, so
 * an abandoned primitive's item disappears on its own; an UpdateItem creates a missing item, so a
 * primitive exists without any request until its first operation.
 */
import type { Expr } from '../dynamo-items.js';
import type { AwsSyncEnv } from './env.js';
import { conditionalUpdate, getItem, type Item, syncKey } from './items.js';

export type { Item } from './items.js';

/** The actions of one UpdateExpression, each a list of clauses with placeholders from the same {@link Expr}. */
export interface UpdateActions {
  readonly set?: readonly string[];
  readonly add?: readonly string[];
  readonly remove?: readonly string[];
}

/** How an update ended: applied (with the new item if asked for) or refused (with the item it found). */
export type UpdateOutcome =
  | { readonly ok: true; readonly item: Item }
  | { readonly ok: false; readonly item: Item };

/** One primitive's item. */
export class SyncItem {
  readonly #key: Item;

  constructor(
    readonly env: AwsSyncEnv,
    readonly id: string,
  ) {
    this.#key = syncKey(id);
  }

  /** A strongly consistent read (an empty object when the item does not exist yet). */
  async get(x?: Expr, projection?: readonly string[]): Promise<Item> {
    const only = x && projection ? { path: projection.join(', '), names: x.names } : undefined;
    return (await getItem(this.env, this.#key, only)) ?? {};
  }

  /**
   * One UpdateItem: `actions` under `condition` (if any). Resolves the new item when `returnNew`;
   * a refused condition resolves `{ ok: false, item }` with the item DynamoDB found (empty when
   * there was none); any other failure rejects.
   */
  async update(
    x: Expr,
    actions: UpdateActions,
    condition?: string,
    returnNew = false,
  ): Promise<UpdateOutcome> {
    let rest = '';
    if (actions.add?.length) rest += ` ADD ${actions.add.join(', ')}`;
    if (actions.remove?.length) rest += ` REMOVE ${actions.remove.join(', ')}`;
    const out = await conditionalUpdate(
      this.env,
      this.#key,
      x,
      actions.set ?? [],
      rest,
      condition || undefined,
      returnNew ? 'ALL_NEW' : 'NONE',
    );
    return out.ok ? out : { ok: false, item: out.item ?? {} };
  }
}

/** A number attribute of `item`, or `fallback` when it is missing. */
export function num(item: Item, name: string, fallback = 0): number {
  const v = item[name]?.N;
  return v === undefined ? fallback : Number(v);
}

/** A boolean attribute of `item` (missing is false). */
export function bool(item: Item, name: string): boolean {
  return item[name]?.BOOL === true;
}
