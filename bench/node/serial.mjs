// Serialiser measurement behind fanfold's wire format (src/engine/codec.ts): v8.serialize vs msgpackr
// vs JSON, and Float64Array bytes for numbers. One codec per process (a codec's garbage and JIT state
// must not slow the next one: after msgpackr's loops, Float64Array.from ran 8x slower in the same
// process). Prints one JSON line per data set with the encode/decode rates of every counted sample.
// usage: serial.mjs CODEC [SAMPLES] [SAMPLE_MS]    serial.mjs --list    serial.mjs --types
import { isDeepStrictEqual } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { Packr } from 'msgpackr';
import { emit, now } from './common.mjs';

const [only, samplesArg = '3', sampleMsArg = '60'] = process.argv.slice(2);
const SAMPLES = Number(samplesArg);
const SAMPLE_MS = Number(sampleMsArg);

const packr = new Packr();
const packrClone = new Packr({ structuredClone: true });
const utf8 = new TextEncoder();

/** name → { encode, decode, size(encoded) }. */
const codecs = {
  v8: { encode: (v) => serialize(v), decode: (b) => deserialize(b), size: (b) => b.byteLength },
  msgpackr: { encode: (v) => packr.pack(v), decode: (b) => packr.unpack(b), size: (b) => b.byteLength },
  'msgpackr structuredClone': {
    encode: (v) => packrClone.pack(v),
    decode: (b) => packrClone.unpack(b),
    size: (b) => b.byteLength,
  },
  JSON: {
    encode: (v) => JSON.stringify(v),
    decode: (s) => JSON.parse(s),
    size: (s) => utf8.encode(s).byteLength,
  },
  // Numbers only: the bytes of a Float64Array; decoding is a view (no copy) as in codec.ts ...
  'Float64Array bytes': {
    numbersOnly: true,
    encode: (v) => new Uint8Array(Float64Array.from(v).buffer),
    decode: (b) => new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8),
    size: (b) => b.byteLength,
    same: (out, v) => out.length === v.length && out.every((x, i) => x === v[i]),
  },
  // ... or, when the caller needs a plain array back, a copy into one: Array.from, or a loop.
  'Float64Array bytes → Array.from': {
    numbersOnly: true,
    encode: (v) => new Uint8Array(Float64Array.from(v).buffer),
    decode: (b) => Array.from(new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8)),
    size: (b) => b.byteLength,
  },
  'Float64Array bytes → Array (loop)': {
    numbersOnly: true,
    encode: (v) => new Uint8Array(Float64Array.from(v).buffer),
    decode: (b) => {
      const f = new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
      const out = new Array(f.length);
      for (let i = 0; i < f.length; i++) out[i] = f[i];
      return out;
    },
    size: (b) => b.byteLength,
  },
};

const datasets = {
  '1e5 integers (square results)': { numbers: true, value: Array.from({ length: 1e5 }, (_, i) => i * i) },
  '1e5 floats': { numbers: true, value: Array.from({ length: 1e5 }, (_, i) => i / 7 + 0.1) },
  '1e4 small objects with strings': {
    value: Array.from({ length: 1e4 }, (_, i) => ({
      id: i,
      name: `user-${i}`,
      email: `user${i}@example.com`,
      score: i / 7,
      tags: ['alpha', 'beta'],
      active: i % 2 === 0,
    })),
  },
  '1e3 records of Map/Set/Date/BigInt': {
    value: Array.from({ length: 1e3 }, (_, i) => ({
      when: new Date(1_700_000_000_000 + i * 1000),
      big: BigInt(i) * 10n ** 12n,
      tags: new Set([`t${i}`, `t${i + 1}`]),
      counts: new Map([
        [`k${i}`, i],
        ['total', i * 2],
      ]),
    })),
  },
};

/** Runs fn repeatedly for about SAMPLE_MS and returns operations per second. */
function rate(fn) {
  let ops = 0;
  const t0 = now();
  let t1 = t0;
  do {
    fn();
    ops++;
    t1 = now();
  } while (t1 - t0 < SAMPLE_MS);
  return (ops * 1000) / (t1 - t0);
}

/** Names the fields of the first item that did not survive: `tags: Set → Array`. */
function difference(decoded, original) {
  const a = Array.isArray(decoded) ? decoded[0] : decoded;
  const b = Array.isArray(original) ? original[0] : original;
  const changed = Object.keys(b)
    .filter((k) => !isDeepStrictEqual(a?.[k], b[k]))
    .map((k) => `${k}: ${describe(b[k])} → ${describe(a?.[k])}`);
  return `does not round-trip: ${changed.join(', ') || 'differs'}`;
}

function describe(x) {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  return x.constructor?.name ?? 'Object';
}

if (only === '--list') {
  process.stdout.write(`${JSON.stringify(Object.keys(codecs))}\n`);
  process.exit(0);
}
if (only === '--types') {
  emit({ case: 'serial-types', types: typeTable() });
  process.exit(0);
}
if (!(only in codecs)) throw new Error(`unknown codec ${only}; try --list`);

// One entry per data set that can be measured; the rest get the reason they cannot.
const cases = [];
for (const [dname, d] of Object.entries(datasets)) {
  for (const [cname, c] of Object.entries(codecs)) {
    if (cname !== only || (c.numbersOnly && !d.numbers)) continue;
    const record = { case: 'serial', dataset: dname, codec: cname };
    try {
      const encoded = c.encode(d.value);
      const decoded = c.decode(encoded);
      record.bytes = c.size(encoded);
      record.roundTrip = (c.same ?? isDeepStrictEqual)(decoded, d.value);
      if (!record.roundTrip) record.note = difference(decoded, d.value);
      cases.push({ record, c, d, encoded, enc: [], dec: [] });
    } catch (err) {
      record.roundTrip = false;
      record.note = `throws: ${err.message}`;
      emit(record);
    }
  }
}

// Samples alternate over the data sets; round 0 warms the JIT and is not counted.
for (let r = 0; r <= SAMPLES; r++) {
  for (const k of cases) {
    const e = rate(() => k.c.encode(k.d.value));
    const d = rate(() => k.c.decode(k.encoded));
    if (r > 0) {
      k.enc.push(Math.round(e));
      k.dec.push(Math.round(d));
    }
  }
}
for (const k of cases) emit({ ...k.record, encode_ops_s: k.enc, decode_ops_s: k.dec });

/** Which types survive a round trip alone (value → encode → decode → deep-equal, same class). */
function typeTable() {
  const probes = {
    Map: new Map([['a', 1]]),
    Set: new Set([1, 2]),
    Date: new Date(1_700_000_000_000),
    'BigInt (64-bit)': 2n ** 60n,
    'BigInt (> 64-bit)': 2n ** 100n,
    Float64Array: new Float64Array([1.5, 2.5]),
    Uint8Array: new Uint8Array([1, 2, 3]),
    undefined: [undefined],
    'NaN / Infinity': [Number.NaN, Number.POSITIVE_INFINITY],
    'nested objects': { a: { b: [1, 'x', null] } },
  };
  const types = {};
  for (const [cname, c] of Object.entries(codecs)) {
    if (c.numbersOnly) continue;
    types[cname] = {};
    for (const [pname, v] of Object.entries(probes)) {
      let verdict;
      try {
        const out = c.decode(c.encode(v));
        verdict = isDeepStrictEqual(out, v)
          ? 'yes'
          : `no (→ ${describe(out)} ${String(JSON.stringify(out, (_, x) => (typeof x === 'bigint' ? `${x}n` : x)))})`;
      } catch (err) {
        verdict = `no (throws: ${err.message.split('\n')[0].slice(0, 70)})`;
      }
      types[cname][pname] = verdict;
    }
  }
  return types;
}
