// The serialiser section of RESULTS.md.
import { range, si } from './stats.mjs';

export function serialSection(data, p, table) {
  const g = data.results.serial;
  if (!g) return;
  p('## 6. Serialisers (the wire format of `src/engine/codec.ts`)', '');
  p(
    `One process per codec, ${data.results.serial.rounds} rounds alternating over the codecs; in each process every data set is measured for ${data.plan.serialSampleMs} ms per sample, 1 warm-up sample + ${data.plan.serialSamples} counted. ops/s = whole data sets encoded (or decoded) per second. msgpackr: \`new Packr()\` (records, its default) and \`new Packr({ structuredClone: true })\` (implies \`moreTypes\`). JSON bytes = UTF-8 length of the string.`,
    '',
  );
  const byData = new Map();
  for (const [codec, rs] of Object.entries(g.runs)) {
    for (const r of rs) {
      if (!r?.ok) continue;
      for (const rec of r.recs) {
        const key = rec.dataset;
        if (!byData.has(key)) byData.set(key, new Map());
        const m = byData.get(key);
        if (!m.has(codec)) m.set(codec, { rec, enc: [], dec: [] });
        const e = m.get(codec);
        e.enc.push(...(rec.encode_ops_s ?? []));
        e.dec.push(...(rec.decode_ops_s ?? []));
      }
    }
  }
  const rows = [];
  for (const [dataset, m] of byData) {
    for (const [codec, e] of m) {
      rows.push([
        dataset,
        codec,
        e.rec.bytes === undefined ? '—' : si(e.rec.bytes),
        range(e.enc, si),
        range(e.dec, si),
        e.rec.roundTrip ? 'yes' : `**no**: ${e.rec.note}`,
      ]);
    }
  }
  table(['data', 'codec', 'bytes', 'encode ops/s', 'decode ops/s', 'round-trips'], rows);
  const types = data.types ?? {};
  const codecs = Object.keys(types);
  if (codecs.length) {
    p('Which values survive a round trip on their own (decoded deep-equal, same class):', '');
    const probes = Object.keys(types[codecs[0]]);
    table(
      ['value', ...codecs],
      probes.map((probe) => [probe, ...codecs.map((c) => types[c][probe].replaceAll('|', '\\|'))]),
    );
  }
}
