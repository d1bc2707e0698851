/**
 * What the primitives contract suite needs from a context: its primitives, a way to revive a handle
 * as a second party on the same state, another party with its own owner identity (another thread
 * locally, another environment on AWS), and the capabilities that only some contexts have.
 */
import { expect } from 'vitest';
import type { Primitives } from '../../../src/api/context.js';
import { type ErrorCode, ErrorCodes, NotSerializableError } from '../../../src/errors.js';
import { SHARE, type Shareable, type SyncHandle } from '../../../src/handles.js';

/**
 * A second party: revives a primitive's handle on its side and calls a method there. Its owner
 * identity differs from the first party's (an `RLock` it did not acquire refuses its release).
 */
export interface Party {
  /**
   * Revives `target`'s handle here (once per handle) and calls `method`, a dotted path of calls such
   * as `getLock.acquire` (every step but the last is called with no arguments), with `args`.
   * Errors come back with their `code` (and `name`).
   */
  call<R = unknown>(target: Shareable, method: string, ...args: unknown[]): Promise<R>;
  /** Ends the party (its thread, its clients). */
  close(): Promise<void>;
}

/** A holder whose requests can be cut off, so that its lease is no longer renewed (AWS only). */
export interface CuttableHolder {
  /** Revives a handle on the holder's side. */
  revive<T>(handle: SyncHandle): T;
  /** From now on every request of the holder fails (its renewals stop, as if it had died). */
  cut(): void;
  /** Its requests reach the service again (a stale holder comes back). */
  heal(): void;
  /** The holder's lease: another party may take the lock this long after the cut. */
  readonly leaseMs: number;
}

/** The lease capability: locks are leases that expire when their holder stops renewing them. */
export interface LeaseCapability {
  /** A fresh holder (call inside a test). */
  holder(): CuttableHolder;
}

/** A context under test. Every function is called inside tests (emulators start in `beforeAll`). */
export interface PrimitivesHarness {
  /** Which context's handles the primitives give. */
  readonly ctx: 'local' | 'aws';
  /** The first party's primitives. */
  primitives(): Primitives;
  /** Revives a handle as a second party on the same state (same thread locally, a fresh env on AWS). */
  revive<T>(handle: SyncHandle): T;
  /** Starts another party (another owner identity). */
  party(): Promise<Party>;
  /** Present where locks are leases (AWS). */
  readonly leases?: LeaseCapability;
  /** A timeout that runs out quickly but leaves room for one round trip. @default 100 */
  readonly shortMs?: number;
}

/** The handle of a primitive. */
export function handleOf(p: Shareable): SyncHandle {
  return p[SHARE]();
}

/** Revives `p`'s handle through the harness (the second party's view of the same state). */
export function twin<T extends Shareable>(h: PrimitivesHarness, p: T): T {
  return h.revive<T>(handleOf(p));
}

/** Asserts that `fn` throws synchronously an error whose code is one of `codes`. */
export function expectThrowsCode(fn: () => unknown, ...codes: ErrorCode[]): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a throw').toBeDefined();
  expect(codes).toContain((thrown as { code?: unknown }).code);
}

/** Asserts that `p` rejects with an error whose code is one of `codes`. */
export async function expectRejectsCode(p: Promise<unknown>, ...codes: ErrorCode[]): Promise<void> {
  let thrown: unknown;
  const marker = Symbol('resolved');
  const r = await p.then(
    () => marker,
    (e: unknown) => {
      thrown = e;
      return undefined;
    },
  );
  expect(r, 'expected a rejection').not.toBe(marker);
  expect(codes).toContain((thrown as { code?: unknown }).code);
}

/** Error codes as the suite uses them (re-exported for brevity). */
export { ErrorCodes } from '../../../src/errors.js';

/** The values a thrown error crosses a party boundary as. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
}

/** The error a party rethrows: same `name` and `code` as the one thrown on its side. */
export class PartyError extends Error {
  readonly code: string | undefined;
  constructor(e: WireError) {
    super(e.message);
    this.name = e.name;
    this.code = e.code;
  }
}

/** Calls a dotted method path on a revived primitive (shared by the parties' implementations). */
export async function callPath(target: unknown, method: string, args: readonly unknown[]): Promise<unknown> {
  const steps = method.split('.');
  let obj = target as Record<string, unknown>;
  for (const [i, step] of steps.entries()) {
    const fn = obj[step];
    if (typeof fn !== 'function') throw new TypeError(`${step} is not a method of ${String(obj)}`);
    const last = i === steps.length - 1;
    const out = (fn as (...a: unknown[]) => unknown).apply(obj, last ? [...args] : []);
    if (last) return await out;
    obj = out as Record<string, unknown>;
  }
  return undefined;
}

export { Point } from '../../fixtures/point.js';

/** Expects `p` to reject with the NotSerializableError that refuses an instance of `className`. */
export async function expectRefusedInstance(p: Promise<unknown>, className: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(NotSerializableError);
  expect(e).toMatchObject({ code: ErrorCodes.NOT_SERIALIZABLE, className });
  expect((e as Error).message).toContain(`class ${className}`);
}
