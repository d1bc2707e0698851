/**
 * Copies of work-queue messages for the in-memory queue: what SQS achieves by turning a message
 * into bytes (sender and receiver never share an object), without the cost of `v8.serialize` for
 * the messages the engine sends. A body of any other shape (a foreign or malformed message) is
 * copied with `v8.serialize`, so that the receiver still sees exactly what was sent.
 */
import { deserialize, serialize } from 'node:v8';

/** A stored message: a private structural copy, or v8 bytes. */
export type StoredMessage =
  | { readonly kind: 'work'; readonly body: WorkShape }
  | { readonly kind: 'v8'; readonly bytes: Uint8Array };

type Json = string | number | boolean;
/** The plain-data shape of the engine's messages: objects of scalars, Uint8Arrays and such objects. */
interface WorkShape {
  readonly [k: string]: Json | Uint8Array | WorkShape;
}

const MAX_DEPTH = 4;

/** Stores a copy of `body`; `size` is its size in bytes as a serialised message (for the SQS limit). */
export function store(body: unknown): { stored: StoredMessage; size: number } {
  const counted = { size: 2 };
  const copy = copyShape(body, 0, counted);
  if (copy !== undefined) return { stored: { kind: 'work', body: copy }, size: counted.size };
  const bytes = serialize(body);
  return { stored: { kind: 'v8', bytes }, size: bytes.byteLength };
}

/** A fresh copy of a stored message, for one delivery. */
export function load(s: StoredMessage): unknown {
  return s.kind === 'v8' ? deserialize(s.bytes) : copyShape(s.body, 0, { size: 0 });
}

/** A deep copy when `v` has the plain shape (else undefined), adding its serialised size to `counted`. */
function copyShape(v: unknown, depth: number, counted: { size: number }): WorkShape | undefined {
  if (
    typeof v !== 'object' ||
    v === null ||
    depth > MAX_DEPTH ||
    Object.getPrototypeOf(v) !== Object.prototype
  ) {
    return undefined;
  }
  const out: Record<string, Json | Uint8Array | WorkShape> = {};
  for (const key of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[key];
    counted.size += key.length + 4;
    switch (typeof x) {
      case 'string':
        counted.size += x.length * 3 + 2;
        out[key] = x;
        break;
      case 'number':
        counted.size += 9;
        out[key] = x;
        break;
      case 'boolean':
        counted.size += 1;
        out[key] = x;
        break;
      case 'object': {
        if (x instanceof Uint8Array && x.constructor === Uint8Array) {
          counted.size += x.byteLength + 8;
          out[key] = x.slice();
          break;
        }
        const inner = copyShape(x, depth + 1, counted);
        if (inner === undefined) return undefined;
        out[key] = inner;
        break;
      }
      default:
        return undefined;
    }
  }
  return out;
}
