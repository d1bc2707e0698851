/**
 * Binary data in JSON, the one codec of every text boundary on AWS (SQS message bodies, the
 * coordinator Lambda's payloads): every `Uint8Array` is written as `{"$b64": "…"}` (base64) and read
 * back as a fresh, 0-offset `Uint8Array`. Text grows binary payloads by 4/3; `wire.ts` turns a
 * message-size limit into the inline payload that fits.
 *
 * The tag cannot collide with fanfold's messages: their only objects are the protocol's own
 * (`input`, `data`, …), none of which has a `$b64` key; a tag is read back only from an object
 * whose one key it is.
 */

const TAG = '$b64';

function tag(bytes: Uint8Array): { readonly [TAG]: string } {
  return { [TAG]: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
}

/** The bytes a tag holds, or undefined when `v` is not a tag. */
function untag(v: unknown): Uint8Array | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const b64 = o[TAG];
  if (typeof b64 !== 'string' || Object.keys(o).length !== 1) return undefined;
  const b = Buffer.from(b64, 'base64');
  // A fresh, 0-offset copy: a view into Buffer's shared pool would keep the pool alive and be
  // unaligned for a Float64Array over it.
  const bytes = new Uint8Array(b.byteLength);
  bytes.set(b);
  return bytes;
}

function replacer(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify calls a Buffer's toJSON ({type: 'Buffer', data: [...]}) before the replacer
  // sees it, and v8.serialize returns Buffers: look at the holder's own value instead.
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return tag(raw);
  return value instanceof Uint8Array ? tag(value) : value;
}

function reviver(_key: string, value: unknown): unknown {
  return untag(value) ?? value;
}

/** `JSON.stringify` with every `Uint8Array` tagged. */
export function stringifyWithBytes(value: unknown): string {
  return JSON.stringify(value, replacer);
}

/** `JSON.parse` with every tag back as a `Uint8Array`; throws `SyntaxError` as `JSON.parse` does. */
export function parseWithBytes(text: string): unknown {
  return JSON.parse(text, reviver);
}

/**
 * `value` with every `Uint8Array` replaced by its tag, ready for a serialiser that is not ours
 * (the Lambda runtime serialises what a handler returns).
 */
export function toJsonSafe(value: unknown): unknown {
  if (value instanceof Uint8Array) return tag(value);
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonSafe(v);
    return out;
  }
  return value;
}

/** The inverse of {@link toJsonSafe}, for a value a parser that is not ours made (a Lambda event). */
export function fromJsonSafe(value: unknown): unknown {
  const bytes = untag(value);
  if (bytes) return bytes;
  if (Array.isArray(value)) return value.map(fromJsonSafe);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromJsonSafe(v);
    return out;
  }
  return value;
}
