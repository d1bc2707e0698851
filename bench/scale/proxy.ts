/**
 * A counting HTTP proxy on 127.0.0.1 in front of the emulator (SQS, DynamoDB, S3) and the runner's
 * Invoke API, with one port per party (the caller, the mappings, each function), so that every AWS
 * request of a run is counted by who sent it, the service and the operation, and every DynamoDB
 * request is costed in write and read request units from the sizes of the items it touched
 * (`item-size.ts`). What AWS bills is requests and units; this is where the bench's cost per chunk
 * comes from.
 *
 * Item sizes: a write's units depend on the item before and after it, which the request does not
 * carry (an update, a delete, a condition check), so the proxy reads the touched items itself,
 * straight from the emulator (never counted), just before forwarding a write and just after it
 * returns, and before answering. Reads are costed from the items returned, read again in full when
 * the request projected attributes. Concurrent writers can make a before/after read miss an
 * intermediate size: the units are exact for what fanfold does (each item written by one party at
 * a time) and close otherwise. A write refused by its condition is charged on the item as it was
 * (1 unit if absent), as DynamoDB charges it; a cancelled transaction likewise, per item.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchGetItemCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Answer, classify, forward, LAMBDA_PATH, readAll, type Service } from './http.js';
import { itemSize, readUnits, type WireItem, writeUnits } from './item-size.js';

/** What one party sent of one operation of one service. */
export interface Tally {
  readonly party: string;
  readonly service: Service;
  readonly operation: string;
  requests: number;
  /** DynamoDB write request units. */
  wru: number;
  /** DynamoDB read request units. */
  rru: number;
}

/** Options of {@link CountingProxy.start}. */
export interface CountingProxyOptions {
  /** The emulator's endpoint: where SQS, DynamoDB and S3 requests go. */
  readonly emulator: string;
  /** One port is opened per party. */
  readonly parties: readonly string[];
  /** Region and credentials of the proxy's own (uncounted) reads of item sizes. */
  readonly clientOptions: {
    readonly region: string;
    readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  };
  /** Names an invoked function in the operation (`Invoke <label>`). @default its name */
  readonly functionLabel?: (name: string) => string;
}

type Json = Record<string, unknown>;
type Key = Readonly<Record<string, unknown>>;

/** A write's items: each key, the new item when the request carries it, and whether it is an update. */
interface Touched {
  readonly table: string;
  readonly key: Key;
  readonly put?: WireItem;
  readonly update?: boolean;
}

/** See the module comment. */
export class CountingProxy {
  readonly #o: CountingProxyOptions;
  readonly #servers = new Map<string, Server>();
  readonly #tallies = new Map<string, Tally>();
  /** Write units by partition key, for the hottest partition. */
  readonly #partitions = new Map<string, number>();
  /** Write units by the kind of item (its sort key up to the first `#`). */
  readonly #kinds = new Map<string, number>();
  readonly #dynamo: DynamoDBClient;
  readonly #keys = new Map<string, Promise<readonly string[]>>();
  #inflight = 0;
  #lastActivity = performance.now();
  /** The runner's Invoke API, known once the stack is up. */
  lambda: string | undefined;

  private constructor(o: CountingProxyOptions) {
    this.#o = o;
    this.#dynamo = new DynamoDBClient({ ...o.clientOptions, endpoint: o.emulator, maxAttempts: 3 });
  }

  /** Opens a port per party. */
  static async start(o: CountingProxyOptions): Promise<CountingProxy> {
    const proxy = new CountingProxy(o);
    for (const party of o.parties) {
      const server = createServer((req, res) => {
        proxy.#handle(party, req).then(
          ({ status, headers, body }) => {
            res.writeHead(status, headers);
            res.end(body);
          },
          (e: unknown) => {
            res.writeHead(502, { 'content-type': 'text/plain' });
            res.end(String(e));
          },
        );
      });
      server.keepAliveTimeout = 60_000;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      proxy.#servers.set(party, server);
    }
    return proxy;
  }

  /** The endpoint of a party's port. */
  endpoint(party: string): string {
    const server = this.#servers.get(party);
    if (!server) throw new Error(`No port for party ${party}`);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Every tally so far, sorted by party, service and operation. */
  tallies(): Tally[] {
    return [...this.#tallies.values()]
      .map((t) => ({ ...t }))
      .sort((a, b) =>
        `${a.party} ${a.service} ${a.operation}`.localeCompare(`${b.party} ${b.service} ${b.operation}`),
      );
  }

  /** Write units by partition key. */
  partitions(): Map<string, number> {
    return new Map(this.#partitions);
  }

  /** Write units by kind of item (the sort key's prefix: JOB, CHUNK, COUNT, …). */
  itemKinds(): Map<string, number> {
    return new Map(this.#kinds);
  }

  /** Forgets every count. */
  reset(): void {
    this.#tallies.clear();
    this.#partitions.clear();
    this.#kinds.clear();
  }

  /** Resolves once no request has been in flight for `quietMs` (or after `maxMs`). */
  async quiet(quietMs: number, maxMs = 60_000): Promise<void> {
    const until = performance.now() + maxMs;
    while (performance.now() < until) {
      if (this.#inflight === 0 && performance.now() - this.#lastActivity >= quietMs) return;
      await new Promise((r) => setTimeout(r, Math.min(100, quietMs)));
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.#servers.values()].map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
    this.#dynamo.destroy();
  }

  async #handle(party: string, req: IncomingMessage): Promise<Answer> {
    this.#inflight++;
    try {
      const body = await readAll(req);
      const url = req.url ?? '/';
      const toLambda = url.startsWith(LAMBDA_PATH);
      const target = toLambda ? this.lambda : this.#o.emulator;
      if (!target) throw new Error('The proxy was given no Invoke API endpoint (set proxy.lambda)');
      const what = classify(req, url, toLambda, this.#o.functionLabel);
      const dynamoJson =
        what.service === 'DynamoDB' ? (JSON.parse(body.toString('utf8') || '{}') as Json) : {};
      const touched = what.service === 'DynamoDB' ? await this.#touched(what.operation, dynamoJson) : [];
      const before = touched.length > 0 ? await this.#read(touched.map((t) => [t.table, t.key])) : [];
      const res = await forward(target, req, body);
      const tally = this.#tally(party, what.service, what.operation);
      tally.requests++;
      if (what.service === 'SQS' && what.operation === 'ReceiveMessage') {
        const got = JSON.parse(res.body.toString('utf8') || '{}') as { Messages?: unknown[] };
        // Empty receives are billed too; tell them apart, since a loop of them is pure waste.
        if (!got.Messages?.length) {
          tally.requests--;
          this.#tally(party, 'SQS', 'ReceiveMessage (empty)').requests++;
        }
      }
      if (what.service === 'DynamoDB') {
        const after = touched.some((t) => t.update)
          ? await this.#read(touched.map((t) => [t.table, t.key]))
          : [];
        this.#writeCost(tally, what.operation, touched, before, after, res.status);
        tally.rru += await this.#readCost(what.operation, dynamoJson, res);
      }
      return res;
    } finally {
      this.#inflight--;
      this.#lastActivity = performance.now();
    }
  }

  #tally(party: string, service: Tally['service'], operation: string): Tally {
    const key = `${party}\t${service}\t${operation}`;
    let t = this.#tallies.get(key);
    if (!t) {
      t = { party, service, operation, requests: 0, wru: 0, rru: 0 };
      this.#tallies.set(key, t);
    }
    return t;
  }

  /** The items a write request touches. */
  async #touched(op: string, r: Json): Promise<Touched[]> {
    const table = r.TableName as string;
    switch (op) {
      case 'PutItem':
        return [{ table, key: await this.#keyOnly(table, r.Item as WireItem), put: r.Item as WireItem }];
      case 'UpdateItem':
        return [{ table, key: r.Key as Key, update: true }];
      case 'DeleteItem':
        return [{ table, key: r.Key as Key }];
      case 'TransactWriteItems': {
        const out: Touched[] = [];
        for (const a of r.TransactItems as Json[]) {
          const [kind, action] = Object.entries(a)[0] as [string, Json];
          const t = action.TableName as string;
          if (kind === 'Put')
            out.push({
              table: t,
              key: await this.#keyOnly(t, action.Item as WireItem),
              put: action.Item as WireItem,
            });
          else out.push({ table: t, key: action.Key as Key, update: kind === 'Update' });
        }
        return out;
      }
      case 'BatchWriteItem': {
        const out: Touched[] = [];
        for (const [t, requests] of Object.entries(r.RequestItems as Record<string, Json[]>)) {
          for (const w of requests) {
            const put = (w.PutRequest as Json | undefined)?.Item as WireItem | undefined;
            if (put) out.push({ table: t, key: await this.#keyOnly(t, put), put });
            else out.push({ table: t, key: (w.DeleteRequest as Json).Key as Key });
          }
        }
        return out;
      }
      default:
        return [];
    }
  }

  #writeCost(
    tally: Tally,
    op: string,
    touched: readonly Touched[],
    before: readonly (WireItem | undefined)[],
    after: readonly (WireItem | undefined)[],
    status: number,
  ): void {
    if (touched.length === 0) return;
    const ok = status < 300;
    const transactional = op === 'TransactWriteItems';
    touched.forEach((t, k) => {
      const old = before[k] ? itemSize(before[k]) : 0;
      // Refused or cancelled: charged on the item as it was. Else on the larger of old and new.
      const now = !ok ? 0 : t.put ? itemSize(t.put) : t.update ? (after[k] ? itemSize(after[k]) : 0) : 0;
      const units = writeUnits(old, now, transactional);
      tally.wru += units;
      const pk = String((t.key.pk as { S?: string } | undefined)?.S ?? '?');
      const sk = String((t.key.sk as { S?: string } | undefined)?.S ?? '?');
      this.#partitions.set(pk, (this.#partitions.get(pk) ?? 0) + units);
      const kind = sk.split('#')[0]!;
      this.#kinds.set(kind, (this.#kinds.get(kind) ?? 0) + units);
    });
  }

  async #readCost(op: string, r: Json, res: { status: number; body: Buffer }): Promise<number> {
    if (res.status >= 300) return 0;
    const out = JSON.parse(res.body.toString('utf8') || '{}') as Json;
    const consistent = r.ConsistentRead === true;
    const projected = typeof r.ProjectionExpression === 'string' || Array.isArray(r.AttributesToGet);
    switch (op) {
      case 'GetItem': {
        const item = out.Item as WireItem | undefined;
        if (!item) return readUnits(0, consistent);
        const full = projected ? (await this.#read([[r.TableName as string, r.Key as Key]]))[0] : item;
        return readUnits(full ? itemSize(full) : 0, consistent);
      }
      case 'Query':
      case 'Scan': {
        const items = (out.Items as WireItem[] | undefined) ?? [];
        const table = r.TableName as string;
        const full = projected
          ? await this.#read(
              await Promise.all(items.map(async (i) => [table, await this.#keyOnly(table, i)] as const)),
            )
          : items;
        return readUnits(
          full.reduce((n, i) => n + (i ? itemSize(i) : 0), 0),
          consistent,
        );
      }
      case 'BatchGetItem': {
        let units = 0;
        const asked = r.RequestItems as Record<
          string,
          { Keys: Key[]; ConsistentRead?: boolean; ProjectionExpression?: string }
        >;
        const got = (out.Responses as Record<string, WireItem[]> | undefined) ?? {};
        const left = (out.UnprocessedKeys as Record<string, { Keys: Key[] }> | undefined) ?? {};
        for (const [table, spec] of Object.entries(asked)) {
          const c = spec.ConsistentRead === true;
          const items = got[table] ?? [];
          // Projected items may lack their keys: read the keys asked for, whole (those not
          // processed are not there any more than they were a moment ago, and count nothing).
          const full = spec.ProjectionExpression
            ? (await this.#read(spec.Keys.map((k) => [table, k] as const))).filter((i) => i !== undefined)
            : items;
          for (const i of full.slice(0, items.length)) units += readUnits(itemSize(i), c);
          // Keys asked for and not found cost the minimum each.
          const missing = spec.Keys.length - items.length - (left[table]?.Keys.length ?? 0);
          units += Math.max(0, missing) * readUnits(0, c);
        }
        return units;
      }
      default:
        return 0;
    }
  }

  /** The table's key attribute names (DescribeTable once per table). */
  #keyNames(table: string): Promise<readonly string[]> {
    let names = this.#keys.get(table);
    if (!names) {
      names = this.#dynamo
        .send(new DescribeTableCommand({ TableName: table }))
        .then((d) => (d.Table?.KeySchema ?? []).map((k) => k.AttributeName!));
      this.#keys.set(table, names);
    }
    return names;
  }

  async #keyOnly(table: string, item: WireItem): Promise<Key> {
    const names = await this.#keyNames(table);
    return Object.fromEntries(names.map((n) => [n, item[n]]));
  }

  /** The items at these keys as they are now, straight from the emulator (not counted). */
  async #read(keys: readonly (readonly [string, Key])[]): Promise<(WireItem | undefined)[]> {
    const found = new Map<string, WireItem>();
    const id = (table: string, key: Key) => `${table}\u0000${JSON.stringify(Object.entries(key).sort())}`;
    const unique = new Map<string, readonly [string, Key]>();
    for (const [table, key] of keys) unique.set(id(table, key), [table, key]);
    const all = [...unique.values()];
    for (let i = 0; i < all.length; i += 100) {
      const page = all.slice(i, i + 100);
      const request: Record<string, { Keys: Key[]; ConsistentRead: boolean }> = {};
      for (const [table, key] of page) {
        const spec = request[table] ?? { Keys: [], ConsistentRead: true };
        request[table] = spec;
        spec.Keys.push(key);
      }
      let pending: typeof request | undefined = request;
      while (pending && Object.keys(pending).length > 0) {
        const out = await this.#dynamo.send(
          // The wire form is what the SDK's low-level client takes as AttributeValue maps.
          new BatchGetItemCommand({ RequestItems: pending as never }),
        );
        for (const [table, items] of Object.entries(out.Responses ?? {})) {
          for (const item of items) {
            const names = await this.#keyNames(table);
            found.set(
              id(table, Object.fromEntries(names.map((n) => [n, item[n]]))),
              item as unknown as WireItem,
            );
          }
        }
        pending = out.UnprocessedKeys as typeof request | undefined;
      }
    }
    return keys.map(([table, key]) => found.get(id(table, key)));
  }
}
