/**
 * The WorkQueue contract: what every adapter (memory, SQS) must do, through the port only.
 * Waits for visibility expiry use `receive`'s long poll, which returns as soon as the message is
 * back; adapters whose timeouts are whole seconds (SQS) pass a larger `visibilityMs`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, InvalidArgumentError, PayloadTooLargeError } from '../../src/errors.js';
import type { Delivery, WorkMessage, WorkQueue } from '../../src/ports.js';

/** A queue and its dead-letter queue, made fresh for one test. */
export interface WorkQueueHarness {
  readonly queue: WorkQueue;
  readonly deadLetters: WorkQueue;
  close(): Promise<void> | void;
}

/** Makes a harness whose queue has this default visibility and moves messages after this many receives. */
export type MakeWorkQueue = (opts: {
  visibilityMs: number;
  maxReceiveCount: number;
}) => Promise<WorkQueueHarness>;

/** Timing of the suite. */
export interface WorkQueueContractOptions {
  /** The short visibility timeout the expiry tests use. @default 200 */
  readonly visibilityMs?: number;
}

/** A chunk message with an inline payload of `bytes`. */
export function chunkMessage(index: number, bytes = new Uint8Array([1, 2, 3, index & 0xff])): WorkMessage {
  return {
    v: 1,
    type: 'chunk',
    jobId: 'job-1',
    index,
    task: 'square',
    mode: 'map',
    input: { kind: 'items', offset: index * 4, count: 4, data: { enc: 'v8', bytes } },
  };
}

function indexOf(d: Delivery): number {
  return (d.body as { index: number }).index;
}

/** Declares the WorkQueue contract suite for one adapter. */
export function describeWorkQueueContract(
  name: string,
  make: MakeWorkQueue,
  options: WorkQueueContractOptions = {},
): void {
  const vis = options.visibilityMs ?? 200;
  // Long enough for any expiry to have happened; long polls return as soon as it has.
  const patience = Math.max(10 * vis, 5_000);

  describe(`WorkQueue contract (${name})`, () => {
    const open: WorkQueueHarness[] = [];
    async function setup(
      opts: { visibilityMs?: number; maxReceiveCount?: number } = {},
    ): Promise<WorkQueueHarness> {
      const harness = await make({
        visibilityMs: opts.visibilityMs ?? 30_000,
        maxReceiveCount: opts.maxReceiveCount ?? 5,
      });
      open.push(harness);
      return harness;
    }
    afterEach(async () => {
      for (const harness of open.splice(0)) await harness.close();
    });

    describe('send()', () => {
      it('delivers a copy of the body with bytes and nested fields intact', async () => {
        const { queue } = await setup();
        const message = chunkMessage(7, new Uint8Array([0, 255, 9, 8]));
        await queue.send([message]);
        const [d, ...rest] = await queue.receive({ max: 10, waitMs: patience });
        expect(rest).toEqual([]);
        expect(d?.body).toEqual(message);
        expect(d?.receiveCount).toBe(1);
        expect(typeof d?.messageId).toBe('string');
        await queue.ack([d!.receipt]);
        expect(await queue.receive({ max: 10, waitMs: 0 })).toEqual([]);
      });

      it('rejects an oversized message with PayloadTooLargeError and sends nothing of that call', async () => {
        const { queue } = await setup();
        const huge = chunkMessage(1, new Uint8Array(2 * 1024 * 1024));
        const sending = queue.send([chunkMessage(0), huge]);
        await expect(sending).rejects.toBeInstanceOf(PayloadTooLargeError);
        await expect(sending).rejects.toMatchObject({ code: ErrorCodes.PAYLOAD_TOO_LARGE });
        expect(await queue.receive({ max: 10, waitMs: 2 * vis })).toEqual([]);
      });
    });

    describe('receive()', () => {
      it('returns at most max messages', async () => {
        const { queue } = await setup();
        await queue.send([0, 1, 2, 3, 4].map((i) => chunkMessage(i)));
        const first = await queue.receive({ max: 2, waitMs: patience });
        expect(first.length).toBeGreaterThanOrEqual(1);
        expect(first.length).toBeLessThanOrEqual(2);
        const seen = first.map(indexOf);
        while (seen.length < 5)
          seen.push(...(await queue.receive({ max: 2, waitMs: patience })).map(indexOf));
        expect(seen.sort()).toEqual([0, 1, 2, 3, 4]);
      });

      it('rejects max outside 1–10 with InvalidArgumentError', async () => {
        const { queue } = await setup();
        await expect(queue.receive({ max: 0, waitMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(queue.receive({ max: 11, waitMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      });

      it('returns [] after waitMs on an empty queue', async () => {
        const { queue } = await setup();
        expect(await queue.receive({ max: 10, waitMs: vis })).toEqual([]);
      });

      it('wakes a long poll as soon as a message is sent', async () => {
        const { queue } = await setup();
        // Were the poll to sleep for its whole waitMs, the test would time out first.
        const polling = queue.receive({ max: 10, waitMs: 60_000 });
        await queue.send([chunkMessage(3)]);
        const got = await polling;
        expect(got.map(indexOf)).toEqual([3]);
      }, 15_000);

      it('resolves [] when the signal aborts the wait', async () => {
        const { queue } = await setup();
        const controller = new AbortController();
        const polling = queue.receive({ max: 10, waitMs: 60_000, signal: controller.signal });
        controller.abort();
        expect(await polling).toEqual([]);
      }, 15_000);

      it('never hands the same message to two concurrent receivers while it is invisible', async () => {
        const { queue } = await setup();
        const n = 60;
        await queue.send(Array.from({ length: n }, (_, i) => chunkMessage(i)));
        const seen: Delivery[] = [];
        const receiver = async (): Promise<void> => {
          while (seen.length < n)
            seen.push(...(await queue.receive({ max: 3, waitMs: vis, visibilityMs: 30_000 })));
        };
        await Promise.all(Array.from({ length: 12 }, receiver));
        expect(new Set(seen.map((d) => d.messageId)).size).toBe(n);
        expect(seen.length).toBe(n);
      });
    });

    describe('visibility', () => {
      it('redelivers an unacknowledged message with receiveCount 2 and a new receipt', async () => {
        const { queue } = await setup({ visibilityMs: vis });
        await queue.send([chunkMessage(1)]);
        const [first] = await queue.receive({ max: 1, waitMs: patience });
        const [again] = await queue.receive({ max: 1, waitMs: patience });
        expect(again?.messageId).toBe(first?.messageId);
        expect(again?.receiveCount).toBe(2);
        expect(again?.receipt).not.toBe(first?.receipt);
        expect(again?.body).toEqual(first?.body);
      });

      it('ignores an ack with a stale receipt and keeps the redelivered copy', async () => {
        const { queue } = await setup({ visibilityMs: vis });
        await queue.send([chunkMessage(1)]);
        const [first] = await queue.receive({ max: 1, waitMs: patience });
        const [again] = await queue.receive({ max: 1, waitMs: patience, visibilityMs: 30_000 });
        await queue.ack([first!.receipt]);
        await queue.setVisibility([again!.receipt], 0);
        const [third] = await queue.receive({ max: 1, waitMs: patience });
        expect(third?.messageId).toBe(first?.messageId);
        expect(third?.receiveCount).toBe(3);
      });

      it('ignores setVisibility with a stale receipt', async () => {
        const { queue } = await setup({ visibilityMs: vis });
        await queue.send([chunkMessage(1)]);
        const [first] = await queue.receive({ max: 1, waitMs: patience });
        const [again] = await queue.receive({ max: 1, waitMs: patience, visibilityMs: 30_000 });
        await queue.setVisibility([first!.receipt], 0);
        expect(await queue.receive({ max: 1, waitMs: 2 * vis })).toEqual([]);
        await queue.ack([again!.receipt]);
      });

      it('makes a message visible at once with setVisibility(receipt, 0)', async () => {
        const { queue } = await setup();
        await queue.send([chunkMessage(1)]);
        const [first] = await queue.receive({ max: 1, waitMs: patience });
        await queue.setVisibility([first!.receipt], 0);
        const [again] = await queue.receive({ max: 1, waitMs: patience });
        expect(again?.messageId).toBe(first?.messageId);
        expect(again?.receiveCount).toBe(2);
      });

      it('delays redelivery when the visibility is extended', async () => {
        const { queue } = await setup({ visibilityMs: vis });
        await queue.send([chunkMessage(1)]);
        const [first] = await queue.receive({ max: 1, waitMs: patience });
        await queue.setVisibility([first!.receipt], 60_000);
        // Without the extension the message would be back well within this poll.
        expect(await queue.receive({ max: 1, waitMs: 3 * vis })).toEqual([]);
        await queue.setVisibility([first!.receipt], 0);
        expect((await queue.receive({ max: 1, waitMs: patience })).map(indexOf)).toEqual([1]);
      });

      it('changes the visibility of more receipts than one batch call takes, in one call', async () => {
        const { queue } = await setup();
        const n = 25;
        await queue.send(Array.from({ length: n }, (_, i) => chunkMessage(i)));
        const first: Delivery[] = [];
        while (first.length < n) first.push(...(await queue.receive({ max: 10, waitMs: patience })));
        // Every receipt twice: a receipt repeated in one call changes its message once.
        const receipts = first.map((d) => d.receipt);
        await queue.setVisibility([...receipts, ...receipts], 0);
        const again: Delivery[] = [];
        while (again.length < n) again.push(...(await queue.receive({ max: 10, waitMs: patience })));
        expect(again.map(indexOf).sort((a, b) => a - b)).toEqual(first.map(indexOf).sort((a, b) => a - b));
        expect(again.every((d) => d.receiveCount === 2)).toBe(true);
      });

      it('extends many receipts at once, and skips a stale one among them', async () => {
        const { queue } = await setup();
        // Message 1 comes back and is delivered again: its first receipt is stale.
        await queue.send([chunkMessage(1)]);
        const [stale] = await queue.receive({ max: 1, waitMs: patience });
        await queue.setVisibility([stale!.receipt], 0);
        const [current] = await queue.receive({ max: 1, waitMs: patience });
        expect(current?.messageId).toBe(stale!.messageId);
        await queue.send([2, 3].map((i) => chunkMessage(i)));
        const got: Delivery[] = [];
        while (got.length < 2)
          got.push(...(await queue.receive({ max: 10, waitMs: patience, visibilityMs: 4 * vis })));
        await queue.setVisibility([stale!.receipt, ...got.map((d) => d.receipt)], 60_000);
        // Without the extension, messages 2 and 3 would be back well within this poll.
        expect(await queue.receive({ max: 10, waitMs: 6 * vis })).toEqual([]);
        await queue.setVisibility([...got.map((d) => d.receipt), current!.receipt], 0);
        const back: Delivery[] = [];
        while (back.length < 3) back.push(...(await queue.receive({ max: 10, waitMs: patience })));
        expect(back.map(indexOf).sort()).toEqual([1, 2, 3]);
      });

      it('does nothing for no receipts, and rejects a negative timeout with InvalidArgumentError', async () => {
        const { queue } = await setup();
        await queue.setVisibility([], 0);
        await expect(queue.setVisibility([], -1)).rejects.toBeInstanceOf(InvalidArgumentError);
      });

      it('deletes an acknowledged message for good', async () => {
        const { queue } = await setup({ visibilityMs: vis });
        await queue.send([chunkMessage(1)]);
        const [first] = await queue.receive({ max: 1, waitMs: patience });
        await queue.ack([first!.receipt]);
        expect(await queue.receive({ max: 1, waitMs: 3 * vis })).toEqual([]);
      });
    });

    describe('dead letters', () => {
      it('moves a message to deadLetters after maxReceiveCount deliveries without ack', async () => {
        const { queue, deadLetters } = await setup({ visibilityMs: vis, maxReceiveCount: 2 });
        const message = chunkMessage(4);
        await queue.send([message]);
        const counts: number[] = [];
        for (let i = 0; i < 2; i++) {
          const got = await queue.receive({ max: 1, waitMs: patience });
          counts.push(...got.map((d) => d.receiveCount));
        }
        expect(counts).toEqual([1, 2]);
        // The third delivery is a move instead.
        expect(await queue.receive({ max: 1, waitMs: 3 * vis })).toEqual([]);
        const [dead, ...rest] = await deadLetters.receive({ max: 10, waitMs: patience });
        expect(rest).toEqual([]);
        expect(dead?.body).toEqual(message);
        // SQS keeps the count (3 here); an adapter may also start afresh (1).
        expect([1, 3]).toContain(dead?.receiveCount);
        await deadLetters.ack([dead!.receipt]);
        expect(await queue.receive({ max: 1, waitMs: 2 * vis })).toEqual([]);
      });
    });
  });
}
