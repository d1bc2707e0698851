/**
 * One SQS FIFO queue of a `Queue` or a pipe direction: made on first use, one message group,
 * v8-serialized items as base64 bodies, items over the SQS limit spilled to the bucket under
 * `sync/<queue>/<uuid>`. Protocol and crash analysis: docs/primitives.md, section 3.7.
 */
import { randomUUID } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import { InvalidArgumentError, NotSerializableError, ProtocolError } from '../../errors.js';
import { received } from '../../validate.js';
import { type AwsSyncEnv, sdk } from './env.js';
import { closed, register } from './queue-state.js';

/** How long a received message stays hidden before it is delivered again (a receiver died). */
export const VISIBILITY_S = 30;
/** The largest body sent inline: SQS's 1 MiB limit, less headroom for the request's other parts. */
export const MAX_INLINE_BODY = 1_048_576 - 4_096;
/** SQS's longest long poll. */
const MAX_WAIT_S = 20;
/** The one message group of every queue: FIFO order over all its messages. */
const GROUP = 'g';

/** The attributes every queue is made with (identical on every CreateQueue: it is idempotent then). */
const ATTRIBUTES = {
  FifoQueue: 'true',
  ContentBasedDeduplication: 'false',
  VisibilityTimeout: String(VISIBILITY_S),
  MaximumMessageSize: '1048576',
  // SQS's longest retention: an item not taken within 14 days is lost (documented).
  MessageRetentionPeriod: '1209600',
};

/** A message received and not yet deleted. */
export interface Received {
  readonly body: string;
  readonly receipt: string;
}

/** True for the SQS errors that mean the queue is gone (deleted by close or the sweeper). */
export function isGone(e: unknown): boolean {
  const name = (e as { name?: string; Code?: string }).name ?? '';
  return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue';
}

/** The blob prefix of the queue `name`. */
export function blobPrefix(name: string): string {
  return `sync/${name}/`;
}

/** Checks the queue name prefix: SQS names are at most 80 characters of `[A-Za-z0-9_-]`. */
export function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_-]{0,40}$/.test(prefix))
    throw new InvalidArgumentError(
      `Expected the queue prefix to be up to 40 characters of A-Z, a-z, 0-9, _ and -, got ${received(prefix)}`,
    );
  return prefix;
}

/**
 * One SQS FIFO queue named `<env.queuePrefix><suffix>`, registered under the item `id`. The
 * prefix is read only once the environment's clients are made (a context that names a stack
 * learns it from the stack's outputs then); a handle may carry the name its sender used, which
 * must then be this name (else the two parties are on different stacks).
 */
export class Channel {
  readonly #env: AwsSyncEnv;
  readonly #id: string;
  readonly #what: string;
  readonly #creator: boolean;
  #url: Promise<string> | undefined;
  readonly #suffix: string;
  readonly #carried: string | undefined;

  constructor(env: AwsSyncEnv, suffix: string, id: string, what: string, creator: boolean, carried?: string) {
    this.#env = env;
    this.#suffix = suffix;
    this.#carried = carried;
    this.#id = id;
    this.#what = what;
    this.#creator = creator;
  }

  /** The queue's name: only once `env.clients()` has resolved. */
  get name(): string {
    return `${this.#env.queuePrefix}${this.#suffix}`;
  }

  /** The name, if the prefix can be read yet. */
  knownName(): string | undefined {
    try {
      return this.name;
    } catch {
      return undefined;
    }
  }

  /** The queue's URL: registers it (refused once closed), then CreateQueue; once per handle. */
  url(): Promise<string> {
    this.#url ??= this.#create().catch((e: unknown) => {
      this.#url = undefined;
      throw e;
    });
    return this.#url;
  }

  async #create(): Promise<string> {
    const { CreateQueueCommand, GetQueueUrlCommand } = await sdk.sqs();
    const { sqs } = await this.#env.clients();
    checkPrefix(this.#env.queuePrefix);
    if (this.#carried !== undefined && this.#carried !== this.name)
      throw new ProtocolError(
        `A handle names the queue ${this.#carried}, but this stack's queue prefix is ${JSON.stringify(this.#env.queuePrefix)}: the parties are on different stacks`,
      );
    if (!this.#creator) {
      // A revived handle's queue usually exists: one request. (A closed queue's is gone: then the
      // registration below refuses it.)
      try {
        const found = await sqs.send(new GetQueueUrlCommand({ QueueName: this.name }));
        if (found.QueueUrl) return found.QueueUrl;
      } catch (e) {
        if (!isGone(e)) throw e;
      }
    }
    await register(this.#env, this.#id, this.#what, this.#creator);
    const out = await sqs.send(new CreateQueueCommand({ QueueName: this.name, Attributes: ATTRIBUTES }));
    if (!out.QueueUrl) throw new ProtocolError(`CreateQueue of ${this.name} returned no URL`);
    return out.QueueUrl;
  }

  /** Sends `item` (spilled to the bucket when its body would pass {@link MAX_INLINE_BODY}). */
  async send(item: unknown): Promise<void> {
    const url = await this.url();
    let bytes: Buffer;
    try {
      bytes = serialize(item);
    } catch (e) {
      throw new NotSerializableError('The item', undefined, e);
    }
    let body = `i${bytes.toString('base64')}`;
    if (body.length > MAX_INLINE_BODY) {
      const key = `${blobPrefix(this.name)}${randomUUID()}`;
      const { PutObjectCommand } = await sdk.s3();
      const { s3 } = await this.#env.clients();
      await s3.send(new PutObjectCommand({ Bucket: this.#env.bucket, Key: key, Body: bytes }));
      body = `b${key}`;
    }
    await this.#sendBody(url, body);
  }

  /** Sends the end-of-file marker `body` (not an item: `decode` refuses it). */
  async sendMarker(body: string): Promise<void> {
    await this.#sendBody(await this.url(), body);
  }

  async #sendBody(url: string, body: string): Promise<void> {
    const { SendMessageCommand } = await sdk.sqs();
    const { sqs } = await this.#env.clients();
    try {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: body,
          MessageGroupId: GROUP,
          // Random per put, fixed across the SDK's retries of this call: a retry is deduplicated.
          MessageDeduplicationId: randomUUID(),
        }),
      );
    } catch (e) {
      throw isGone(e) ? closed(this.#what) : e;
    }
  }

  /** One ReceiveMessage, long-polling up to `waitMs` (whole seconds, at most 20 s). */
  async receive(waitMs: number): Promise<Received | undefined> {
    const url = await this.url();
    const { ReceiveMessageCommand } = await sdk.sqs();
    const { sqs } = await this.#env.clients();
    try {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 1,
          WaitTimeSeconds: Math.max(0, Math.min(MAX_WAIT_S, Math.floor(waitMs / 1000))),
        }),
      );
      const m = out.Messages?.[0];
      if (!m) return undefined;
      if (m.Body === undefined || m.ReceiptHandle === undefined)
        throw new ProtocolError(`A message of ${this.name} has no body or receipt handle`);
      return { body: m.Body, receipt: m.ReceiptHandle };
    } catch (e) {
      throw isGone(e) ? closed(this.#what) : e;
    }
  }

  /** The item a received message carries (read from the bucket if it was spilled). */
  async decode(m: Received): Promise<unknown> {
    let bytes: Uint8Array;
    if (m.body.startsWith('i')) bytes = Buffer.from(m.body.slice(1), 'base64');
    else if (m.body.startsWith('b')) {
      const { GetObjectCommand } = await sdk.s3();
      const { s3 } = await this.#env.clients();
      const out = await s3.send(new GetObjectCommand({ Bucket: this.#env.bucket, Key: m.body.slice(1) }));
      bytes = (await out.Body?.transformToByteArray()) ?? new Uint8Array(0);
    } else throw new ProtocolError(`A message of ${this.name} is neither inline nor a blob reference`);
    return deserialize(bytes);
  }

  /** Deletes a received message, then its blob if it had one. */
  async ack(m: Received): Promise<void> {
    const url = await this.url();
    const { DeleteMessageCommand } = await sdk.sqs();
    const { sqs } = await this.#env.clients();
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.receipt }));
    if (m.body.startsWith('b')) {
      const { DeleteObjectCommand } = await sdk.s3();
      const { s3 } = await this.#env.clients();
      await s3.send(new DeleteObjectCommand({ Bucket: this.#env.bucket, Key: m.body.slice(1) }));
    }
  }

  /** Deletes the SQS queue (if it exists) and every blob of it. */
  async destroy(): Promise<void> {
    const { DeleteQueueCommand, GetQueueUrlCommand } = await sdk.sqs();
    const { sqs } = await this.#env.clients();
    try {
      const url = (await sqs.send(new GetQueueUrlCommand({ QueueName: this.name }))).QueueUrl;
      if (url) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    } catch (e) {
      if (!isGone(e)) throw e;
    }
    await deleteBlobs(this.#env, blobPrefix(this.name));
  }
}

/** Deletes every object under `prefix` in the bucket. */
async function deleteBlobs(env: AwsSyncEnv, prefix: string): Promise<void> {
  const { ListObjectsV2Command, DeleteObjectsCommand } = await sdk.s3();
  const { s3 } = await env.clients();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: env.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length > 0)
      await s3.send(new DeleteObjectsCommand({ Bucket: env.bucket, Delete: { Objects: keys, Quiet: true } }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
