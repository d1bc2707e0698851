/**
 * What every command of the CLI writes to and reads from, and the exit codes they share.
 */
import type { OutStream } from './output.js';

/** Where the CLI writes, the directory paths are resolved from, and the environment it reads. */
export interface CliIO {
  /** @default process.stdout */
  readonly stdout: OutStream;
  /** @default process.stderr */
  readonly stderr: OutStream;
  /** @default process.cwd() */
  readonly cwd: string;
  /** `NO_COLOR`, `FORCE_COLOR`, `TERM`, `FANFOLD_STACK`. @default process.env */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Exit codes of the `fanfold` command, one per kind of outcome so that scripts can tell them apart:
 * `0` done; `1` the job failed or was cancelled (`run`, `status`, `attach`); `2` a bad command
 * line; `3` no such job or stack; `4` the module given to `run` is not a job (or cannot be
 * loaded); `5` anything else went wrong (AWS unreachable, the CDK CLI failed).
 */
export const ExitCodes = { OK: 0, JOB_FAILED: 1, USAGE: 2, NOT_FOUND: 3, NOT_A_JOB: 4, ERROR: 5 } as const;
