/**
 * Helpers of the runner's own tests: the fixture assembly's path (as written, or with its
 * timeouts scaled to the machine), waiting for an outcome in the emulators, and reading what the
 * fixture functions recorded. Budgets follow the machine's pace: the fixture functions are
 * processes of this machine, and beside other work each of them runs several times slower.
 */

import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { scaleTimeouts, type Template } from '../src/template.js';

/** The fixture cloud assembly: a CDK-shaped template and four tiny bundles. */
export const FIXTURE_ASSEMBLY = fileURLToPath(new URL('./fixtures/assembly/', import.meta.url));

/**
 * The share of a core this test process got when its file started (1: a core of its own), as
 * the runner project's setup file measured it (fanfold's test/support/machine-pace.ts, which
 * passes it in FANFOLD_MACHINE_PACE); 1, the budgets as written, where nothing measured it.
 */
export const machinePace = Math.max(1, Number(process.env.FANFOLD_MACHINE_PACE) || 1);

/** `ms` × {@link machinePace}, rounded: a budget around an awaited event on this machine now. */
export function scaledByMachine(ms: number): number {
  return Math.round(ms * machinePace);
}

/** The fixture stack's name (its template is `${FIXTURE_STACK}.template.json`). */
const FIXTURE_STACK = 'Fixture';

/** The fixture template, as the tests edit it (every resource they edit has properties). */
export type FixtureTemplate = Template & {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};

/** A copy of the fixture assembly in a temporary folder, with `edit` applied to its template. */
export function copyAssembly(edit: (template: FixtureTemplate) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'fixture-assembly-'));
  cpSync(FIXTURE_ASSEMBLY, dir, { recursive: true });
  const path = join(dir, `${FIXTURE_STACK}.template.json`);
  const template = JSON.parse(readFileSync(path, 'utf8')) as FixtureTemplate;
  edit(template);
  writeFileSync(path, JSON.stringify(template, null, 2));
  return dir;
}

/**
 * A copy of the fixture assembly with its function and queue visibility timeouts multiplied by
 * the machine's pace (scaleTimeouts), but those of `keep` (logical id prefixes), whose timeout is
 * the subject of a test.
 */
export function scaledAssembly(keep: readonly string[] = []): string {
  return copyAssembly((t) => scaleTimeouts(t, Math.ceil(machinePace), keep));
}

/**
 * Calls `probe` every 50 ms until it returns something other than undefined, and returns that.
 * For outcomes that happen in another process (a message deleted, an object written).
 * `quietTimeoutMs` is the bound on a quiet machine; it is scaled by the machine's pace.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  quietTimeoutMs = 10_000,
): Promise<T> {
  const timeoutMs = scaledByMachine(quietTimeoutMs);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An object's text, or undefined while it does not exist. */
export async function readObject(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await out.Body?.transformToString();
  } catch (e) {
    if (e instanceof NoSuchKey) return undefined;
    throw e;
  }
}

/** An SQS event record as the consumer fixture saw it. */
export interface TracedRecord {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly [key: string]: unknown;
}

/** One invocation of the consumer fixture, for one test's records. */
export interface Trace {
  readonly start: number;
  readonly end: number;
  readonly pid: number;
  readonly function: string;
  /** Records of the whole batch, including other tests'. */
  readonly batchSize: number;
  /** Records of this test. */
  readonly records: readonly TracedRecord[];
}

/** Every invocation of the consumer fixture that carried records of `test`, in start order. */
export async function readTraces(s3: S3Client, bucket: string, test: string): Promise<Trace[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `trace/${test}/` }));
  const traces = await Promise.all(
    (listed.Contents ?? []).map(
      async (o) => JSON.parse((await readObject(s3, bucket, o.Key!)) ?? 'null') as Trace,
    ),
  );
  return traces.sort((a, b) => a.start - b.start);
}
