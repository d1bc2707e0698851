/**
 * DynamoDB's item size and the request units a request consumes, by the rules AWS documents
 * ("Item sizes and formats", "Read/write capacity mode"): an item is the sum over its attributes
 * of the name's UTF-8 length and the value's size; a write consumes 1 write unit per KB (1,024 B)
 * of the larger of the item before and after, a transactional write 2; a strongly consistent read
 * 1 read unit per 4 KB, an eventually consistent one half, a transactional one 2.
 *
 * Values are in DynamoDB's JSON wire form (`{ S: 'x' }`, `{ N: '12' }`, `{ B: base64 }`, …), as the
 * counting proxy sees them, or as the SDK's low-level client returns them (binary as bytes).
 */

/** An attribute value on DynamoDB's wire. */
export type WireValue = Readonly<Record<string, unknown>>;
/** An item on DynamoDB's wire. */
export type WireItem = Readonly<Record<string, WireValue>>;

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** A number's size: one byte per two significant digits, plus one. */
function numberSize(n: string): number {
  const digits = n
    .replace(/^[-+]/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** Binary: base64 on the wire, bytes once the SDK has decoded it. */
function binarySize(b: unknown): number {
  if (typeof b === 'string') return Buffer.from(b, 'base64').length;
  if (b instanceof Uint8Array) return b.length;
  throw new Error(`Not a binary value: ${typeof b}`);
}

/** The size in bytes of one attribute value (its name not included). */
export function valueSize(v: WireValue): number {
  if (typeof v.S === 'string') return utf8(v.S);
  if (typeof v.N === 'string') return numberSize(v.N);
  if (v.B !== undefined) return binarySize(v.B);
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (Array.isArray(v.SS)) return (v.SS as string[]).reduce((n, s) => n + utf8(s), 0);
  if (Array.isArray(v.NS)) return (v.NS as string[]).reduce((n, s) => n + numberSize(s), 0);
  if (Array.isArray(v.BS)) return (v.BS as unknown[]).reduce<number>((n, b) => n + binarySize(b), 0);
  // A list or map: 3 bytes, and 1 byte per element beside its own size (a map's keys count too).
  if (Array.isArray(v.L)) return 3 + (v.L as WireValue[]).reduce((n, e) => n + 1 + valueSize(e), 0);
  if (v.M && typeof v.M === 'object')
    return (
      3 +
      Object.entries(v.M as Record<string, WireValue>).reduce(
        (n, [k, e]) => n + 1 + utf8(k) + valueSize(e),
        0,
      )
    );
  throw new Error(`Not a DynamoDB attribute value: ${JSON.stringify(v).slice(0, 80)}`);
}

/** The size in bytes of an item. */
export function itemSize(item: WireItem): number {
  let n = 0;
  for (const [name, v] of Object.entries(item)) n += utf8(name) + valueSize(v);
  return n;
}

/** Write units of writing an item of `before` bytes (0: absent) to `after` bytes (0: deleted). */
export function writeUnits(before: number, after: number, transactional: boolean): number {
  const units = Math.max(1, Math.ceil(Math.max(before, after) / 1024));
  return transactional ? 2 * units : units;
}

/** Read units of reading `bytes` (one item, or a query's items together; 0: nothing found). */
export function readUnits(bytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(bytes / 4096));
  return consistent ? units : units / 2;
}
