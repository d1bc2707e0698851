/**
 * The `fanfold` command line: `run` a job module locally with a progress bar; `jobs`, `status`,
 * `attach`, `cancel` and `timeline` the jobs of a deployed stack, or watch them on a live
 * `dashboard`; `estimate` a job's cost; `deploy`, `synth` and `destroy` a stack without a CDK app
 * of one's own. This file parses and dispatches; each command lives in its own.
 */
import { packageRoot } from '../package-root.js';
import { type Command, parseArgs, UsageError } from './args.js';
import { runDashboard } from './dashboard.js';
import { runCdk } from './deploy.js';
import { runEstimate } from './estimate.js';
import { type CliIO, ExitCodes } from './io.js';
import { runOps } from './ops.js';
import { runJob } from './run.js';

export type { Command } from './args.js';
export { parseArgs, UsageError } from './args.js';
export { type CliIO, ExitCodes } from './io.js';

/** The text of `fanfold --help`: every command, its options, the exit codes and examples that work from a fresh project. */
export const HELP = `Usage: fanfold run <module> [--processes N] [--json] [--dashboard [--port P]] [-- job args...]
       fanfold jobs [--stack NAME] [--region R] [--limit N] [--json]
       fanfold status <job-id> [--stack NAME] [--region R] [--json]
       fanfold attach <job-id> [--out FILE] [--release] [--stack NAME] [--region R] [--json]
       fanfold cancel <job-id> [--reason TEXT] [--stack NAME] [--region R] [--json]
       fanfold dashboard [--stack NAME] [--region R] [--port P] [--limit N]
       fanfold timeline <job-id> --out FILE.html [--svg FILE.svg] [--stack NAME] [--region R] [--json]
       fanfold estimate --items N --task-ms MS [--chunksize C] [--workers W] [--memory MB]
                        [--threads T] [--json]
       fanfold deploy --tasks FILE [--stack NAME] [-- cdk deploy options...]
       fanfold synth --tasks FILE [--stack NAME] [--out DIR]
       fanfold destroy --tasks FILE [--stack NAME] [-- cdk destroy options...]
       fanfold --help | --version

Commands:
  run       bundle a job module (its default export made by defineJob), run it on this
            machine with a progress bar on stderr, then print its result and timings
  jobs      list a stack's recent jobs: state, task, chunks done/total, start, duration
  status    one job: state, progress, throughput, retries, stragglers, its cost so far,
            and its error with the remote stack
  attach    wait for a job with a progress bar, then print its results as JSON
            (to stdout, or to --out FILE); --release deletes the job once read
  cancel    cancel a job; its callers reject with JobCancelledError
  dashboard serve a live page of a stack's recent jobs on 127.0.0.1 (until Ctrl-C):
            state, chunks, throughput, workers, stragglers, failures with their stacks
  timeline  draw a job's chunks on its workers' threads: a self-contained HTML page
            (--out) and an SVG (--svg), from the job's records
  estimate  predict a map's cost and duration on AWS before it runs (no stack needed):
            --items N of --task-ms MS each, on --workers W (default 50) of --memory MB
            (default 3538) with --threads T (default 2); --chunksize as the pool's rule
  deploy    deploy a Fanfold stack with your tasks module (runs the CDK CLI: npx cdk)
  synth     write that stack's template and bundled functions, without deploying
  destroy   destroy that stack

Options:
  -p, --processes N   run: worker threads for the job's pools (default: the CPU count)
      --stack NAME    the stack (default: $FANFOLD_STACK, else Fanfold)
      --region R      the stack's AWS region (default: the AWS SDK's, e.g. $AWS_REGION)
      --json          print one JSON object on stdout instead of text
      --dashboard     run: serve the live dashboard of the job's pools while it runs
      --port P        dashboard, run --dashboard: the port on 127.0.0.1 (default 0: a
                      free one; the address is printed on stderr)
  --                  run: pass the arguments after it to the job (ctx.args);
                      deploy, destroy: pass them to the CDK CLI

Prices are AWS's us-east-1 list prices; FANFOLD_PRICES=FILE.json overrides any of them.
Colour only on a terminal, never with NO_COLOR set. Listing jobs needs the rights of
the construct's grantOperate; the other job commands those of grantSubmit.

Exit codes: 0 done, 1 the job failed or was cancelled, 2 bad usage, 3 no such job or
stack, 4 the module is not a job, 5 any other error (AWS unreachable, the CDK failed).

Examples (from a project with tasks.ts and job.ts, as docs/getting-started.md sets up):
  npx fanfold run job.ts --processes 4
  npx fanfold deploy --tasks tasks.ts --stack Fanfold
  npx fanfold jobs --stack Fanfold
  npx fanfold status 5f0c2a4e-... --json
  npx fanfold attach 5f0c2a4e-... --out results.json
  npx fanfold cancel 5f0c2a4e-...
  npx fanfold dashboard --stack Fanfold --port 8080
  npx fanfold run job.ts --dashboard
  npx fanfold timeline 5f0c2a4e-... --out job.html --svg job.svg
  npx fanfold estimate --items 1000000 --task-ms 10
`;

/**
 * Runs the command line and resolves to the exit code (it never calls `process.exit`).
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(argv: readonly string[], io: Partial<CliIO> = {}): Promise<number> {
  const out: CliIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
    ...io,
  };
  let command: Command;
  try {
    command = parseArgs(argv, out.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    out.stderr.write(`fanfold: ${e.message}\nRun 'fanfold --help' for usage.\n`);
    return ExitCodes.USAGE;
  }
  switch (command.kind) {
    case 'help':
      out.stdout.write(HELP);
      return ExitCodes.OK;
    case 'version':
      out.stdout.write(`${version()}\n`);
      return ExitCodes.OK;
    case 'run':
      return runJob(command, out);
    case 'jobs':
    case 'status':
    case 'attach':
    case 'cancel':
    case 'timeline':
      return runOps(command, out);
    case 'dashboard':
      return runDashboard(command, out);
    case 'estimate':
      return runEstimate(command, out);
    case 'deploy':
    case 'synth':
    case 'destroy':
      return runCdk(command, out);
  }
}

function version(): string {
  return packageRoot(import.meta.url)?.version ?? '0.0.0';
}
