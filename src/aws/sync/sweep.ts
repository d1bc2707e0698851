/**
 * Deletes the SQS queues of abandoned `Queue`s and `Pipe`s: the stack's sweeper function runs it on
 * a schedule. Which queues go (closed, stale, orphaned) and why the tombstone comes first:
 * docs/primitives.md, section 3.7.
 */

import { isGone } from './channel.js';
import type { AwsSyncEnv } from './env.js';
import { sdk } from './env.js';
import { num, read, tombstone } from './queue-state.js';

/** Options of {@link sweepQueues}. */
export interface SweepOptions {
  /** A queue whose creator has not renewed it for this long is deleted. @default 2 hours */
  readonly staleMs?: number;
  /** A queue with no registry item is deleted once this old. @default 1 hour */
  readonly orphanMs?: number;
  /** The time to judge by (tests). @default Date.now() */
  readonly now?: number;
}

/** What a sweep did. */
export interface SweepReport {
  /** Names of the queues deleted, with why. */
  readonly deleted: readonly { readonly name: string; readonly reason: 'closed' | 'orphan' | 'stale' }[];
  /** Names of the queues kept. */
  readonly kept: readonly string[];
}

const NAME = /^[qjsc]([0-9a-f]{32})(?:-[01])?\.fifo$/;

/** Lists the queues under `env.queuePrefix` and deletes the abandoned ones. */
export async function sweepQueues(env: AwsSyncEnv, options: SweepOptions = {}): Promise<SweepReport> {
  const { staleMs = 2 * 3600_000, orphanMs = 3600_000, now = Date.now() } = options;
  const { ListQueuesCommand, GetQueueAttributesCommand, DeleteQueueCommand } = await sdk.sqs();
  const { sqs } = await env.clients();
  const deleted: { name: string; reason: 'closed' | 'orphan' | 'stale' }[] = [];
  const kept: string[] = [];
  let token: string | undefined;
  do {
    const page = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: env.queuePrefix, MaxResults: 1000, NextToken: token }),
    );
    for (const url of page.QueueUrls ?? []) {
      const name = url.slice(url.lastIndexOf('/') + 1);
      const id = NAME.exec(name.slice(env.queuePrefix.length))?.[1];
      if (!name.startsWith(env.queuePrefix) || id === undefined) continue;
      const item = await read(env, id);
      let reason: 'closed' | 'orphan' | 'stale' | undefined;
      if (item?.closedAt) reason = 'closed';
      else if (item) {
        const seen = num(item, 'lastSeen') || num(item, 'createdAt');
        if (now - seen > staleMs) reason = 'stale';
      } else {
        try {
          const attrs = await sqs.send(
            new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['CreatedTimestamp'] }),
          );
          const created = Number(attrs.Attributes?.CreatedTimestamp ?? now / 1000) * 1000;
          if (now - created > orphanMs) reason = 'orphan';
        } catch (e) {
          if (!isGone(e)) throw e;
          continue;
        }
      }
      if (!reason) {
        kept.push(name);
        continue;
      }
      if (reason !== 'closed') await tombstone(env, id);
      try {
        await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
      } catch (e) {
        if (!isGone(e)) throw e;
      }
      deleted.push({ name, reason });
    }
    token = page.NextToken;
  } while (token);
  return { deleted, kept };
}
