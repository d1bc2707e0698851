/**
 * `fanfold synth`: the same app `fanfold deploy` hands the CDK CLI (the Fanfold construct with the
 * user's tasks module, one stack of the given name), synthesised for real here, with bundling; the
 * deploy itself needs an AWS account and is documented in docs/observability.md.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCodes, main } from '../../src/cli/main.js';
import { Capture } from '../support/capture.js';

const fixtures = fileURLToPath(new URL('../fixtures/cli/', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'fanfold-synth-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('fanfold synth --tasks FILE --stack NAME', () => {
  it('writes the stack: the table with its listing index, four bundled functions, the outputs aws() reads', async () => {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await main(['synth', '--tasks', 'squares.tasks.ts', '--stack', 'CliSynth', '--out', out], {
      stdout,
      stderr,
      cwd: fixtures,
      env: {},
    });
    expect(stderr.text).not.toMatch(/error/i);
    expect(code).toBe(ExitCodes.OK);
    const template = JSON.parse(readFileSync(resolve(out, 'CliSynth.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
      Outputs: Record<string, unknown>;
    };
    const of = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type);
    expect(of('AWS::Lambda::Function')).toHaveLength(4);
    const [table] = of('AWS::DynamoDB::Table');
    expect(JSON.stringify(table?.Properties.GlobalSecondaryIndexes)).toContain('"IndexName":"byTime"');
    expect(Object.keys(template.Outputs)).toEqual(
      expect.arrayContaining([
        'FanfoldCoordinatorFunction',
        'FanfoldTable',
        'FanfoldBucket',
        'FanfoldWorkers',
      ]),
    );
    // Each function's bundle is in the assembly, with the tasks module inside the worker's.
    const assets = readdirSync(out).filter((f) => f.startsWith('asset.'));
    expect(assets.length).toBeGreaterThanOrEqual(4);
    const bundles = assets.map((a) => join(out, a, 'index.mjs')).filter(existsSync);
    expect(bundles.some((b) => readFileSync(b, 'utf8').includes('squares.tasks.ts'))).toBe(true);
  }, 300_000);

  it('exits 2 for a tasks module that does not exist, before running the CDK', async () => {
    const stderr = new Capture();
    const code = await main(['synth', '--tasks', 'nope.ts'], {
      stdout: new Capture(),
      stderr,
      cwd: fixtures,
      env: {},
    });
    expect(code).toBe(ExitCodes.USAGE);
    expect(stderr.text).toContain('Cannot find the tasks module "nope.ts"');
  });
});
