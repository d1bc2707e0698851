/** Drains an async iterable into an array (for imap / imapUnordered results). */
export async function collect<X>(it: AsyncIterable<X>): Promise<X[]> {
  const out: X[] = [];
  for await (const x of it) out.push(x);
  return out;
}
