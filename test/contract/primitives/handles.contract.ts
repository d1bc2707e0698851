/** Handles: every primitive gives a plain handle, revives from it, and refuses malformed ones. */
import { serialize } from 'node:v8';
import { afterAll, describe, expect, it } from 'vitest';
import type { Primitives } from '../../../src/api/context.js';
import type { Shareable, SyncHandle } from '../../../src/handles.js';
import { ErrorCodes, expectThrowsCode, handleOf, type PrimitivesHarness } from './harness.js';

type Made = Shareable & { readonly kind: string };

/** One maker per shareable kind. */
const MAKERS: readonly [string, (mp: Primitives) => Made][] = [
  ['Lock', (mp) => mp.Lock()],
  ['RLock', (mp) => mp.RLock()],
  ['Semaphore', (mp) => mp.Semaphore(2)],
  ['BoundedSemaphore', (mp) => mp.BoundedSemaphore(2)],
  ['Event', (mp) => mp.Event()],
  ['Condition', (mp) => mp.Condition()],
  ['Barrier', (mp) => mp.Barrier(2)],
  ['Value', (mp) => mp.Value('i', 1)],
  ['Array', (mp) => mp.Array('d', 3)],
  ['Queue', (mp) => mp.Queue(2)],
  ['JoinableQueue', (mp) => mp.JoinableQueue()],
  ['SimpleQueue', (mp) => mp.SimpleQueue()],
  ['Connection', (mp) => mp.Pipe()[0]],
  ['DictProxy', (mp) => mp.Manager().dict()],
  ['ListProxy', (mp) => mp.Manager().list()],
];

/** Declares the handle tests. */
export function handleContract(h: PrimitivesHarness): void {
  const made: Made[] = [];
  const make = (maker: (mp: Primitives) => Made) => {
    const p = maker(h.primitives());
    made.push(p);
    return p;
  };
  afterAll(async () => {
    // Queues and pipes hold resources on AWS: close what the handle tests made.
    await Promise.all(
      made.splice(0).map((p) => (p as { close?: () => Promise<void> }).close?.call(p).catch(() => {})),
    );
  });

  describe.each(MAKERS)('%s handle', (kind, maker) => {
    it('is plain data naming its context and kind', () => {
      const p = make(maker);
      const handle = handleOf(p);
      expect(handle).toMatchObject({ $fanfold: 'handle', ctx: h.ctx, kind });
      expect(structuredClone(handle)).toEqual(handle);
      expect(() => serialize(handle)).not.toThrow();
    });

    it('revives to a primitive of the same kind', () => {
      const p = make(maker);
      expect(h.revive<Made>(handleOf(p)).kind).toBe(kind);
    });

    it('is refused with its data missing or of the wrong types', () => {
      const handle = handleOf(make(maker));
      const bad = (data: Record<string, unknown>): SyncHandle => ({ ...handle, data });
      expectThrowsCode(() => h.revive(bad({})), ErrorCodes.PROTOCOL, ErrorCodes.INVALID_ARGUMENT);
      const wrong = Object.fromEntries(Object.keys(handle.data).map((k) => [k, { bogus: true }]));
      expectThrowsCode(() => h.revive(bad(wrong)), ErrorCodes.PROTOCOL, ErrorCodes.INVALID_ARGUMENT);
    });

    it("is refused with another context's name or an unknown kind", () => {
      const handle = handleOf(make(maker));
      const other = h.ctx === 'local' ? 'aws' : 'local';
      expectThrowsCode(() => h.revive({ ...handle, ctx: other }), ErrorCodes.PROTOCOL);
      expectThrowsCode(() => h.revive({ ...handle, kind: 'NoSuchKind' }), ErrorCodes.PROTOCOL);
    });
  });
}
