/**
 * `fanfold estimate` and the command lines of `timeline` and `estimate`: the estimate as text and
 * as JSON (field by field, the same figures as `estimateCost`), the prices from FANFOLD_PRICES, and
 * the usage errors that name what is missing or wrong (exit 2). `timeline` itself runs on moto
 * (test/aws/context.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCodes, main, parseArgs } from '../../src/cli/main.js';
import { estimateCost } from '../../src/views/cost.js';
import { LIST_PRICES } from '../../src/views/prices.js';
import { Capture } from '../support/capture.js';

const dir = mkdtempSync(join(tmpdir(), 'fanfold-estimate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(env: Record<string, string>, ...argv: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(argv, { stdout, stderr, cwd: dir, env });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('fanfold estimate', () => {
  it('prints the estimate as JSON, field by field what estimateCost predicts for the pool’s plan', async () => {
    const { code, stdout } = await cli(
      {},
      'estimate',
      '--items',
      '1000',
      '--task-ms',
      '5',
      '--workers',
      '4',
      '--json',
    );
    expect(code).toBe(ExitCodes.OK);
    const expected = estimateCost({ items: 1000, chunksize: 63, taskMs: 5, workers: 4 });
    const body = JSON.parse(stdout) as { ok: boolean; estimate: Record<string, unknown> };
    expect(body.ok).toBe(true);
    expect(body.estimate.items).toBe(1000);
    expect(body.estimate.chunksize).toBe(63);
    expect(body.estimate.chunks).toBe(16);
    expect(body.estimate.taskMs).toBe(5);
    expect(body.estimate.workers).toBe(4);
    expect(body.estimate.memoryMb).toBe(3538);
    expect(body.estimate.threads).toBe(2);
    expect(body.estimate.fanoutSeconds).toBeCloseTo(expected.fanoutSeconds, 9);
    expect(body.estimate.durationSeconds).toBeCloseTo(expected.durationSeconds, 9);
    expect(body.estimate.cost).toEqual(expected.cost);
  });

  it('prints it as text, one fact a line, with the prices’ date', async () => {
    const { code, stdout } = await cli(
      {},
      'estimate',
      '--items',
      '1000000',
      '--task-ms',
      '10',
      '--chunksize',
      '100',
    );
    expect(code).toBe(ExitCodes.OK);
    expect(stdout).toMatch(/^items +1,000,000 in 10,000 chunks of 100$/m);
    expect(stdout).toMatch(/^workers +50 of 3538 MB, 2 threads each$/m);
    expect(stdout).toMatch(/^duration +[\d.]+ (s|min) on AWS/m);
    expect(stdout).toMatch(/^Lambda time +17,275 GB-s/m);
    expect(stdout).toMatch(/^cost +\$[\d.]+ \(SQS \$[\d.]+, Lambda \$[\d.]+, DynamoDB \$[\d.]+, S3 \$0\)$/m);
    expect(stdout).toContain(`us-east-1 list prices of ${LIST_PRICES.date}`);
  });

  it('prices at the file FANFOLD_PRICES names, and exits 2 naming a bad one', async () => {
    const file = join(dir, 'prices.json');
    writeFileSync(file, JSON.stringify({ lambdaGbSecond: 0, lambdaRequest: 0, region: 'eu-west-1' }));
    const { stdout } = await cli(
      { FANFOLD_PRICES: file },
      'estimate',
      '--items',
      '100',
      '--task-ms',
      '1',
      '--json',
    );
    const cost = (JSON.parse(stdout) as { estimate: { cost: { usd: { lambda: number }; prices: unknown } } })
      .estimate.cost;
    expect(cost.usd.lambda).toBe(0);
    expect(cost.prices).toEqual({ date: LIST_PRICES.date, region: 'eu-west-1' });
    writeFileSync(file, JSON.stringify({ wru: 'cheap' }));
    const bad = await cli({ FANFOLD_PRICES: file }, 'estimate', '--items', '100', '--task-ms', '1');
    expect(bad.code).toBe(ExitCodes.USAGE);
    expect(bad.stderr).toMatch(/FANFOLD_PRICES \(.*prices\.json\)\.wru to be a price in USD/);
  });

  it('exits 2 naming a missing or bad option', async () => {
    const missing = await cli({}, 'estimate', '--items', '10');
    expect(missing.code).toBe(ExitCodes.USAGE);
    expect(missing.stderr).toContain('Expected estimate to be given --items N and --task-ms MS');
    expect((await cli({}, 'estimate', '--items', '10', '--task-ms', 'soon')).stderr).toContain(
      'Expected --task-ms to be a number of milliseconds >= 0, got "soon"',
    );
    expect((await cli({}, 'estimate', '--items', '-3', '--task-ms', '1')).stderr).toContain(
      'Expected --items to be an integer >= 0, got "-3"',
    );
    expect((await cli({}, 'estimate', '--items', '3', '--task-ms', '1', '--memory', '64')).stderr).toContain(
      'Expected --memory to be an integer from 128 to 10240, got "64"',
    );
  });
});

describe('fanfold timeline (command line)', () => {
  it('takes a job id and --out or --svg, and names what is missing', async () => {
    expect(parseArgs(['timeline', 'j-1', '--out', 'job.html', '--svg', 'job.svg', '--stack', 'S'])).toEqual({
      kind: 'timeline',
      jobId: 'j-1',
      out: 'job.html',
      svg: 'job.svg',
      json: false,
      stack: 'S',
      region: undefined,
    });
    const none = await cli({}, 'timeline', 'j-1');
    expect(none.code).toBe(ExitCodes.USAGE);
    expect(none.stderr).toContain('Expected timeline to be given --out FILE or --svg FILE');
    const noId = await cli({}, 'timeline', '--out', 'x.html');
    expect(noId.code).toBe(ExitCodes.USAGE);
    expect(noId.stderr).toContain('Expected timeline to be given a job id');
  });
});
