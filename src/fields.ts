/**
 * The vocabulary of every parser at a boundary: a work message (`engine/protocol.ts`), a
 * coordinator request (`engine/requests.ts`), a message between a pool and its thread
 * (`threads/messages.ts`), an SQS event (`aws/lambda/events.ts`). Each parser keeps its own
 * discriminated union and its exhaustive switch; the checks of single fields are written once, here,
 * so that every refusal is a {@link ProtocolError} that reads the same way:
 * `Malformed work message: expected jobId to be a non-empty string of at most 128 characters, got 7 (number)`.
 */
import { ProtocolError } from './errors.js';
import { received } from './validate.js';

/** The fields of a message, before they are checked. */
export type Fields = Record<string, unknown>;

/** Reports a bad field: `what` was expected, `got` was found. Never returns. */
export type Fail = (what: string, got: unknown) => never;

/** Whether `v` is an object of fields (not null, not an array). */
export function isFields(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The field checks of one boundary, whose refusals all name `subject`; see the module comment. */
export class FieldReader {
  /** Throws `ProtocolError('Malformed <subject>: expected <what>, got <got>')`. */
  readonly fail: Fail;

  constructor(subject: string) {
    this.fail = (what, got) => {
      throw new ProtocolError(`Malformed ${subject}: expected ${what}, got ${received(got)}`);
    };
  }

  /** `v` as an object of fields; `what` names it (`a message object`, `input to be an object`). */
  object(v: unknown, what: string): Fields {
    if (!isFields(v)) this.fail(what, v);
    return v;
  }

  /** Field `key` as a string of 1 to `max` characters; `path` names it in a refusal. */
  string(o: Fields, key: string, max = 256, path = key): string {
    const v = o[key];
    if (typeof v !== 'string' || v.length === 0 || v.length > max)
      this.fail(`${path} to be a non-empty string of at most ${max} characters`, v);
    return v;
  }

  /** Field `key` as a safe integer >= `min`; `path` names it in a refusal. */
  integer(o: Fields, key: string, min = 0, path = key): number {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
      this.fail(`${path} to be an integer >= ${min}`, v);
    return v;
  }

  /** Field `key` as a finite number; `path` names it in a refusal. */
  finite(o: Fields, key: string, path = key): number {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${path} to be a finite number`, v);
    return v;
  }

  /** Checks field `v` is the protocol version `version` this build speaks. */
  version(o: Fields, version: number): void {
    if (o.v !== version) this.fail(`protocol version ${version}`, o.v);
  }
}
