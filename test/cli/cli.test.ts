import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineJob, isJob } from '../../src/api/job.js';
import { COMMANDS } from '../../src/cli/args.js';
import { ExitCodes, main, parseArgs } from '../../src/cli/main.js';
import { createProgress, formatDuration } from '../../src/cli/progress.js';
import { ErrorCodes, InvalidArgumentError } from '../../src/errors.js';
import { Capture } from '../support/capture.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = resolve(here, '../fixtures/cli');
const root = resolve(here, '../..');

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWith({}, ...argv);
}

/** Runs the CLI on terminals (`tty`) or pipes, with the given environment. */
async function cliWith(
  o: { tty?: boolean; env?: Record<string, string> },
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture(o.tty ?? false);
  const stderr = new Capture(o.tty ?? false);
  const code = await main(argv, { stdout, stderr, cwd: fixtures, env: o.env ?? {} });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('fanfold (command line)', () => {
  describe('usage errors', () => {
    it('exits 2 and names the option, the expected value and what it got for a bad --processes', async () => {
      const { code, stderr, stdout } = await cli('run', 'squares.job.ts', '--processes', '0');

      expect(code).toBe(ExitCodes.USAGE);
      expect(stderr).toContain('Expected --processes to be an integer >= 1, got "0"');
      expect(stderr).toContain("Run 'fanfold --help' for usage.");
      expect(stdout).toBe('');
    });

    it.each([
      [['run', 'squares.job.ts', '--processes=two'], 'Expected --processes to be an integer >= 1, got "two"'],
      [['run', 'squares.job.ts', '-p', '1.5'], 'Expected --processes to be an integer >= 1, got "1.5"'],
      [
        ['run', 'squares.job.ts', '--processes'],
        'Expected --processes to be followed by a value, got nothing',
      ],
      [['run', 'squares.job.ts', '--fast'], 'Unknown option --fast of run'],
      [['run', 'squares.job.ts', 'extra'], 'Unexpected argument "extra"'],
      [['run'], 'Expected run to be given a job module'],
      [['walk'], 'Unknown command "walk"'],
      [
        [],
        'Expected a command (run, jobs, status, attach, cancel, dashboard, timeline, estimate, deploy, synth, destroy), got nothing',
      ],
      [['status'], 'Expected status to be given a job id'],
      [['jobs', '--limit', '0'], 'Expected --limit to be an integer from 1 to 1000, got "0"'],
      [['jobs', '--stack', '9bad'], 'Expected --stack to be a stack name'],
      [['deploy'], 'Expected deploy to be given --tasks FILE'],
      [['attach', 'id', '--release=yes'], 'Expected --release to take no value'],
      [['run', 'missing.job.ts'], 'Cannot find the job module "missing.job.ts"'],
    ])('exits 2 for %j', async (argv, message) => {
      const { code, stderr } = await cli(...argv);

      expect(code).toBe(ExitCodes.USAGE);
      expect(stderr).toContain(message);
    });

    it('passes everything after -- to the job, options included', () => {
      expect(parseArgs(['run', 'job.ts', '-p', '3', '--json', '--', '--processes', 'x'])).toEqual({
        kind: 'run',
        module: 'job.ts',
        processes: 3,
        json: true,
        args: ['--processes', 'x'],
      });
    });
  });

  it('prints the usage for --help and exits 0', async () => {
    const { code, stdout } = await cli('--help');

    expect(code).toBe(ExitCodes.OK);
    expect(stdout).toContain(
      'Usage: fanfold run <module> [--processes N] [--json] [--dashboard [--port P]] [-- job args...]',
    );
    // Every command the parser knows has its usage line and an example.
    for (const command of COMMANDS.filter((c) => c !== 'run'))
      expect(stdout).toMatch(new RegExp(`^ {2}npx fanfold ${command} |^ +fanfold ${command} `, 'm'));
    expect(stdout).toContain(
      'Exit codes: 0 done, 1 the job failed or was cancelled, 2 bad usage, 3 no such job',
    );
  });

  it('colours the result on a terminal, never under NO_COLOR=1 nor in a pipe', async () => {
    const tty = await cliWith({ tty: true }, 'run', 'squares.job.ts', '--', '10');
    expect(tty.code).toBe(ExitCodes.OK);
    expect(tty.stdout).toContain('\x1b[');
    const noColor = await cliWith({ tty: true, env: { NO_COLOR: '1' } }, 'run', 'squares.job.ts', '--', '10');
    expect(noColor.stdout).not.toContain('\x1b[');
    expect(noColor.stderr).not.toContain('\x1b[3');
    expect(noColor.stderr.split('\x1b[2K').at(-1)).toMatch(/^job \w{8}: done, \d+\/\d+ chunks in /);
    const pipe = await cliWith({}, 'run', 'squares.job.ts', '--', '10');
    expect(pipe.stdout + pipe.stderr).not.toContain('\x1b[');
  });

  it("prints the package's version for --version", async () => {
    const { version } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
      version: string;
    };

    expect(await cli('--version')).toEqual({ code: ExitCodes.OK, stdout: `${version}\n`, stderr: '' });
  });

  describe('run', () => {
    it('runs a job end to end and prints its result, wall time, rate and details', async () => {
      const { code, stdout, stderr } = await cli('run', 'squares.job.ts', '--processes', '2', '--', '1000');

      expect(stderr).toContain('summing 1000 squares');
      expect(code).toBe(ExitCodes.OK);
      expect(stdout).toContain("{ sum: 332833500, processes: 2, args: [ '1000' ] }");
      expect(stdout).toMatch(/^wall time +\d/m);
      expect(stdout).toMatch(/^rate +[\d,.]+ numbers\/s \(1,000 numbers\)$/m);
      expect(stdout).toMatch(/^n +1,000$/m);
    });

    it('prints one JSON object with --json', async () => {
      const { code, stdout } = await cli('run', 'squares.job.ts', '--json', '--', '10');

      expect(code).toBe(ExitCodes.OK);
      const out = JSON.parse(stdout) as Record<string, unknown>;
      expect(out).toMatchObject({
        ok: true,
        result: { sum: 285, processes: null, args: ['10'] },
        items: 10,
        details: { chunks: 'some', n: 10 },
      });
      expect(out.wallTimeMs).toEqual(expect.any(Number));
    });

    it("exits 1 and prints the error's code and the remote stack when a task throws", async () => {
      const { code, stderr } = await cli('run', 'failing.job.ts');

      expect(code).toBe(ExitCodes.JOB_FAILED);
      expect(stderr).toContain(`TaskError [${ErrorCodes.TASK_FAILED}]: RangeError: seven is not allowed`);
      expect(stderr).toContain('item 7');
      expect(stderr).toMatch(/--- remote stack ---\nRangeError: seven is not allowed\n\s+at /);
      // In a pipe too, the summary says the job failed, with its chunks, and the error.
      expect(stderr).toMatch(/^job \w{8}: FAILED, \d+\/\d+ chunks in [\d.]+s$/m);
      expect(stderr).toContain(
        'error: TaskError [ERR_FANFOLD_TASK_FAILED]: RangeError: seven is not allowed',
      );
    });

    it('exits 4, not 1, when the default export is not a job', async () => {
      const { code, stderr } = await cli('run', 'not-a-job.ts');

      expect(code).toBe(ExitCodes.NOT_A_JOB);
      expect(ExitCodes.NOT_A_JOB).not.toBe(ExitCodes.JOB_FAILED);
      expect(stderr).toContain('Expected the default export of not-a-job.ts to be a job');
    });
  });
});

describe('defineJob()', () => {
  it('brands the job so that isJob() recognises it, also from another copy of fanfold', () => {
    const job = defineJob(async () => ({ result: 1 }));
    const fromAnotherCopy = { [Symbol.for('fanfold.job')]: true, run: async () => ({ result: 1 }) };

    expect(isJob(job)).toBe(true);
    expect(isJob(fromAnotherCopy)).toBe(true);
    expect(isJob(async () => ({ result: 1 }))).toBe(false);
    expect(isJob({ run: async () => ({ result: 1 }) })).toBe(false);
  });

  it('rejects a run that is not a function', () => {
    // @ts-expect-error: a number is not a job function
    const make = () => defineJob(42);

    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow('Expected the job to be a function (ctx) => Promise<JobOutcome>, got number');
  });
});

describe('createProgress()', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('prints nothing while running when the stream is not a terminal, then one line per pool job', () => {
    const stream = new Capture(false);
    let t = 0;
    const progress = createProgress({ stream, now: () => t });

    progress.update({ jobId: 'aaaaaaaa-1', done: 1, total: 4 });
    t = 1500;
    progress.update({ jobId: 'aaaaaaaa-1', done: 4, total: 4 });
    progress.update({ jobId: 'bbbbbbbb-2', done: 7, total: undefined });
    expect(stream.text).toBe('');

    t = 2000;
    progress.end();
    // A finished job's time runs to its last chunk, an open one's to the end of the run.
    expect(stream.text).toBe(
      'job aaaaaaaa: done, 4/4 chunks in 1.5s\njob bbbbbbbb: done, 7 chunks in 0.5s\n',
    );
  });

  it('says a job FAILED, with its counts and the error, when the run ends with an error naming it (a pipe, no colour)', () => {
    const stream = new Capture(false);
    let t = 0;
    const progress = createProgress({ stream, now: () => t, color: false });
    progress.update({ jobId: 'cccccccc-3', done: 3, total: 8 });
    t = 1200;
    progress.end({
      error: Object.assign(new Error('seven is not allowed'), {
        name: 'TaskError',
        code: 'ERR_FANFOLD_TASK_FAILED',
        jobId: 'cccccccc-3',
      }),
    });
    expect(stream.text).toBe(
      'job cccccccc: FAILED, 3/8 chunks in 1.2s\nerror: TaskError [ERR_FANFOLD_TASK_FAILED]: seven is not allowed\n',
    );
    expect(stream.text).not.toContain('\x1b[');
  });

  it('says FAILED for a job whose error came before any progress, and colours only when asked', () => {
    const stream = new Capture(true);
    const progress = createProgress({ stream, now: () => 0, color: true });
    progress.end({ error: Object.assign(new Error('boom'), { jobId: 'dddddddd-4' }) });
    expect(stream.text).toBe('job dddddddd: \x1b[31mFAILED\x1b[39m\nerror: Error: boom\n');
  });

  it('draws a bar at most once per interval on a terminal, then clears it', () => {
    vi.useFakeTimers();
    const stream = new Capture(true, 100);
    let t = 0;
    const progress = createProgress({ stream, now: () => t, intervalMs: 100 });

    progress.update({ jobId: 'job1', done: 0, total: 10 });
    t = 50;
    progress.update({ jobId: 'job1', done: 5, total: 10 });
    progress.update({ jobId: 'job1', done: 6, total: 10 });
    expect(stream.text.split('\r').length - 1).toBe(1); // one frame so far: the later ones wait

    t = 1000;
    vi.advanceTimersByTime(50);
    expect(stream.text.split('\r').length - 1).toBe(2); // one more frame, with the latest counts
    const frame = stream.text.slice(stream.text.lastIndexOf('\r'));
    expect(frame).toContain(' 60%  6/10  120 chunks/s  ETA 0.0s'); // 6 chunks in the first 50 ms
    expect(frame).toMatch(/\[█+░+\]/);

    progress.end();
    // The bar is cleared and replaced by the summary line.
    expect(stream.text.endsWith('\r\x1b[2Kjob job1: done, 6/10 chunks in 1.0s\n')).toBe(true);
  });

  it('shows a count without a percentage while the total is unknown', () => {
    const stream = new Capture(true, 100);
    const progress = createProgress({ stream, now: () => 2000 });

    progress.update({ jobId: 'open', done: 3, total: undefined });

    expect(stream.text).toContain('job open  3 chunks');
    expect(stream.text).not.toContain('%');
    progress.end();
  });

  it('writes log lines above the bar and redraws it', () => {
    const stream = new Capture(true, 100);
    const progress = createProgress({ stream, now: () => 0, intervalMs: 0 });

    progress.update({ jobId: 'j', done: 1, total: 2 });
    progress.log('hello');

    const clear = '\r\x1b[2K';
    expect(stream.text).toContain(`${clear}hello\n${clear}job j [`);
    progress.end();
  });

  it('formats durations for the ETA', () => {
    expect([0.42, 12.4, 59.6, 185, 3725].map(formatDuration)).toEqual([
      '0.4s',
      '12s',
      '1m00s',
      '3m05s',
      '1h02m',
    ]);
  });
});
