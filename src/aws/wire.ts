/**
 * The body of a work message on SQS: JSON, with every `Uint8Array` written as `{"$b64": "…"}`
 * (`json-bytes.ts`). SQS bodies are text, so binary payloads grow by 4/3; {@link maxPayloadFor}
 * turns a message-size limit into the inline payload a message can safely carry.
 */
import type { WorkMessage } from '../ports.js';
import { parseWithBytes, stringifyWithBytes } from './json-bytes.js';

/** Room left for the JSON around the payload: ids and task names are at most a few hundred bytes. */
export const ENVELOPE_HEADROOM_BYTES = 4 * 1024;

/** The largest inline payload whose message, with base64 and envelope, stays within `maxMessageBytes`. */
export function maxPayloadFor(maxMessageBytes: number): number {
  return Math.max(0, Math.floor(((maxMessageBytes - ENVELOPE_HEADROOM_BYTES) * 3) / 4));
}

/** The SQS body of a work message. */
export function encodeBody(message: WorkMessage): string {
  return stringifyWithBytes(message);
}

/**
 * The value of an SQS body, with tagged binaries back as `Uint8Array`. A body that is not JSON
 * comes back as the string itself, for the receiver's `parseWorkMessage` to reject with a
 * `ProtocolError` that names it.
 */
export function decodeBody(body: string): unknown {
  try {
    return parseWithBytes(body);
  } catch {
    return body;
  }
}
