/**
 * The body of a work message on SQS: JSON, with every `Uint8Array` written as `{"$b64": "…"}`
 * (base64). SQS bodies are text, so binary payloads grow by 4/3; {@link maxPayloadFor} turns a
 * message-size limit into the inline payload a message can safely carry.
 *
 * The tag cannot collide with message content: a work message's only objects are the protocol's
 * own (`input`, `data`), none of which has a `$b64` key.
 */
import type { WorkMessage } from '../ports.js';

const TAG = '$b64';

/** Room left for the JSON around the payload: ids and task names are at most a few hundred bytes. */
export const ENVELOPE_HEADROOM_BYTES = 4 * 1024;

/** The largest inline payload whose message, with base64 and envelope, stays within `maxMessageBytes`. */
export function maxPayloadFor(maxMessageBytes: number): number {
  return Math.max(0, Math.floor(((maxMessageBytes - ENVELOPE_HEADROOM_BYTES) * 3) / 4));
}

function replacer(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify calls a Buffer's toJSON ({type: 'Buffer', data: [...]}) before the replacer
  // sees it, and v8.serialize returns Buffers: look at the holder's own value instead.
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) value = raw;
  if (value instanceof Uint8Array) {
    const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { [TAG]: b.toString('base64') };
  }
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const b64 = o[TAG];
    if (typeof b64 === 'string' && Object.keys(o).length === 1) {
      const b = Buffer.from(b64, 'base64');
      // A fresh, 0-offset copy: a view into Buffer's shared pool would keep the pool alive and be
      // unaligned for a Float64Array over it.
      const bytes = new Uint8Array(b.byteLength);
      bytes.set(b);
      return bytes;
    }
  }
  return value;
}

/** The SQS body of a work message. */
export function encodeBody(message: WorkMessage): string {
  return JSON.stringify(message, replacer);
}

/**
 * The value of an SQS body, with tagged binaries back as `Uint8Array`. A body that is not JSON
 * comes back as the string itself, for the receiver's `parseWorkMessage` to reject with a
 * `ProtocolError` that names it.
 */
export function decodeBody(body: string): unknown {
  try {
    return JSON.parse(body, reviver);
  } catch {
    return body;
  }
}
