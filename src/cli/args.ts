/**
 * The command line, parsed: one {@link Command} per command, each option checked with a message
 * that names it, says what it expects and what it got. A bad command line is a {@link UsageError}.
 */

/** A bad command line: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Where a command finds the stack it operates on. */
export interface StackTarget {
  /** The stack's name. @default $FANFOLD_STACK, else 'Fanfold' */
  readonly stack: string;
  /** The AWS region. @default the SDK's own lookup */
  readonly region: string | undefined;
}

/** Parsed command line. */
export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'run';
      readonly module: string;
      readonly processes: number | undefined;
      readonly json: boolean;
      readonly args: readonly string[];
      /** `--dashboard [--port P]`: serve the live dashboard of the job's pools while it runs. */
      readonly dashboard?: { readonly port: number } | undefined;
    }
  | ({ readonly kind: 'jobs'; readonly limit: number; readonly json: boolean } & StackTarget)
  | ({ readonly kind: 'status'; readonly jobId: string; readonly json: boolean } & StackTarget)
  | ({ readonly kind: 'dashboard'; readonly port: number; readonly limit: number } & StackTarget)
  | ({
      readonly kind: 'attach';
      readonly jobId: string;
      readonly out: string | undefined;
      readonly release: boolean;
      readonly json: boolean;
    } & StackTarget)
  | ({
      readonly kind: 'timeline';
      readonly jobId: string;
      /** Where to write the HTML page. */
      readonly out: string | undefined;
      /** Where to write the SVG. */
      readonly svg: string | undefined;
      readonly json: boolean;
    } & StackTarget)
  | {
      readonly kind: 'estimate';
      readonly items: number;
      readonly taskMs: number;
      /** Items a chunk holds; undefined: CPython's rule for `workers`. */
      readonly chunksize: number | undefined;
      readonly workers: number;
      readonly memoryMb: number;
      readonly threads: number;
      readonly json: boolean;
    }
  | ({
      readonly kind: 'cancel';
      readonly jobId: string;
      readonly reason: string;
      readonly json: boolean;
    } & StackTarget)
  | {
      readonly kind: 'deploy' | 'synth' | 'destroy';
      readonly tasks: string;
      readonly stack: string;
      readonly out: string | undefined;
      /** Arguments after `--`, passed to the CDK CLI as they are. */
      readonly cdkArgs: readonly string[];
    };

/** The commands, as `--help` and the usage errors name them. */
export const COMMANDS = [
  'run',
  'jobs',
  'status',
  'attach',
  'cancel',
  'dashboard',
  'timeline',
  'estimate',
  'deploy',
  'synth',
  'destroy',
] as const;

type Kind = 'flag' | 'value';
interface Spec {
  readonly options: Readonly<Record<string, Kind>>;
  readonly aliases?: Readonly<Record<string, string>>;
  /** Names of the positional arguments, in order, all required. */
  readonly positionals: readonly string[];
  /** Everything after `--` is kept (the job's or the CDK's arguments). */
  readonly rest: boolean;
}

const STACK_OPTIONS = { '--stack': 'value', '--region': 'value', '--json': 'flag' } as const;
const CDK_OPTIONS = { '--tasks': 'value', '--stack': 'value' } as const;

const SPECS: Readonly<Record<(typeof COMMANDS)[number], Spec>> = {
  run: {
    options: { '--processes': 'value', '--json': 'flag', '--dashboard': 'flag', '--port': 'value' },
    aliases: { '-p': '--processes' },
    positionals: ['a job module'],
    rest: true,
  },
  jobs: { options: { ...STACK_OPTIONS, '--limit': 'value' }, positionals: [], rest: false },
  status: { options: STACK_OPTIONS, positionals: ['a job id'], rest: false },
  attach: {
    options: { ...STACK_OPTIONS, '--out': 'value', '--release': 'flag' },
    aliases: { '-o': '--out' },
    positionals: ['a job id'],
    rest: false,
  },
  cancel: { options: { ...STACK_OPTIONS, '--reason': 'value' }, positionals: ['a job id'], rest: false },
  dashboard: {
    options: { '--stack': 'value', '--region': 'value', '--port': 'value', '--limit': 'value' },
    positionals: [],
    rest: false,
  },
  timeline: {
    options: { ...STACK_OPTIONS, '--out': 'value', '--svg': 'value' },
    aliases: { '-o': '--out' },
    positionals: ['a job id'],
    rest: false,
  },
  estimate: {
    options: {
      '--items': 'value',
      '--task-ms': 'value',
      '--chunksize': 'value',
      '--workers': 'value',
      '--memory': 'value',
      '--threads': 'value',
      '--json': 'flag',
    },
    positionals: [],
    rest: false,
  },
  deploy: { options: CDK_OPTIONS, positionals: [], rest: true },
  synth: { options: { ...CDK_OPTIONS, '--out': 'value' }, positionals: [], rest: false },
  destroy: { options: CDK_OPTIONS, positionals: [], rest: true },
};

/**
 * Parses the command line; `env` gives the default stack (`FANFOLD_STACK`).
 *
 * @throws {UsageError} naming the option, what it expects and what it got.
 * @example
 * ```ts
 * parseArgs(['run', 'job.ts', '-p', '2', '--', 'a']);
 * // { kind: 'run', module: 'job.ts', processes: 2, json: false, args: ['a'] }
 * ```
 */
export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): Command {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError(`Expected a command (${COMMANDS.join(', ')}), got nothing`);
  if (first === '--help' || first === '-h' || first === 'help') return { kind: 'help' };
  if (first === '--version' || first === '-v') return { kind: 'version' };
  const command = COMMANDS.find((c) => c === first);
  if (!command) {
    throw new UsageError(
      `Unknown command ${JSON.stringify(first)}; expected ${COMMANDS.join(', ')}, --help or --version`,
    );
  }
  const spec = SPECS[command];
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  let after: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--' && spec.rest) {
      after = rest.slice(i + 1);
      break;
    }
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg.startsWith('-') && arg !== '-') {
      const eq = arg.indexOf('=');
      const raw = eq > 0 ? arg.slice(0, eq) : arg;
      const name = spec.aliases?.[raw] ?? raw;
      const kind = spec.options[name];
      if (!kind) {
        const known = [...Object.keys(spec.options), ...(spec.rest ? ['--'] : [])].join(', ');
        throw new UsageError(`Unknown option ${raw} of ${command}; expected ${known}`);
      }
      if (kind === 'flag') {
        if (eq > 0)
          throw new UsageError(`Expected ${name} to take no value, got ${JSON.stringify(arg.slice(eq + 1))}`);
        values.set(name, true);
        continue;
      }
      const value = eq > 0 ? arg.slice(eq + 1) : rest[++i];
      if (value === undefined)
        throw new UsageError(`Expected ${name} to be followed by a value, got nothing`);
      values.set(name, value);
      continue;
    }
    if (positionals.length >= spec.positionals.length) {
      throw new UsageError(
        `Unexpected argument ${JSON.stringify(arg)} of ${command}` +
          (spec.rest ? '; pass further arguments after --' : ''),
      );
    }
    positionals.push(arg);
  }
  if (positionals.length < spec.positionals.length) {
    const what = spec.positionals[positionals.length]!;
    throw new UsageError(`Expected ${command} to be given ${what}, e.g. ${EXAMPLE[command]}`);
  }
  const str = (name: string) => {
    const v = values.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const json = values.get('--json') === true;
  const target = (): StackTarget => ({
    stack: stackName(str('--stack') ?? env.FANFOLD_STACK ?? 'Fanfold'),
    region: str('--region'),
  });
  switch (command) {
    case 'run': {
      const port = optionalPort(str('--port'));
      const dashboard = values.get('--dashboard') === true;
      if (port !== undefined && !dashboard)
        throw new UsageError(`Expected --port to come with --dashboard, got --port ${port} alone`);
      return {
        kind: 'run',
        module: positionals[0]!,
        processes: optionalCount(str('--processes'), '--processes', 1),
        json,
        args: after,
        ...(dashboard ? { dashboard: { port: port ?? 0 } } : {}),
      };
    }
    case 'dashboard':
      return {
        kind: 'dashboard',
        port: optionalPort(str('--port')) ?? 0,
        limit: optionalCount(str('--limit'), '--limit', 1, 1000) ?? 20,
        ...target(),
      };
    case 'jobs':
      return {
        kind: 'jobs',
        limit: optionalCount(str('--limit'), '--limit', 1, 1000) ?? 20,
        json,
        ...target(),
      };
    case 'status':
      return { kind: 'status', jobId: positionals[0]!, json, ...target() };
    case 'attach':
      return {
        kind: 'attach',
        jobId: positionals[0]!,
        out: str('--out'),
        release: values.get('--release') === true,
        json,
        ...target(),
      };
    case 'cancel':
      return {
        kind: 'cancel',
        jobId: positionals[0]!,
        reason: str('--reason') ?? 'cancelled from the command line',
        json,
        ...target(),
      };
    case 'timeline': {
      const out = str('--out');
      const svg = str('--svg');
      if (out === undefined && svg === undefined)
        throw new UsageError(
          `Expected timeline to be given --out FILE or --svg FILE, e.g. ${EXAMPLE.timeline}`,
        );
      return { kind: 'timeline', jobId: positionals[0]!, out, svg, json, ...target() };
    }
    case 'estimate': {
      const items = optionalCount(str('--items'), '--items', 0);
      const taskMs = str('--task-ms');
      if (items === undefined || taskMs === undefined)
        throw new UsageError(
          `Expected estimate to be given --items N and --task-ms MS, e.g. ${EXAMPLE.estimate}`,
        );
      const ms = Number(taskMs);
      if (!/^\d+(\.\d+)?$/.test(taskMs) || !Number.isFinite(ms))
        throw new UsageError(
          `Expected --task-ms to be a number of milliseconds >= 0, got ${JSON.stringify(taskMs)}`,
        );
      return {
        kind: 'estimate',
        items,
        taskMs: ms,
        chunksize: optionalCount(str('--chunksize'), '--chunksize', 1),
        workers: optionalCount(str('--workers'), '--workers', 1, 100_000) ?? 50,
        memoryMb: optionalCount(str('--memory'), '--memory', 128, 10_240) ?? 3538,
        threads: optionalCount(str('--threads'), '--threads', 1, 64) ?? 2,
        json,
      };
    }
    case 'deploy':
    case 'synth':
    case 'destroy': {
      const tasks = str('--tasks');
      if (tasks === undefined)
        throw new UsageError(`Expected ${command} to be given --tasks FILE, e.g. ${EXAMPLE[command]}`);
      return {
        kind: command,
        tasks,
        stack: stackName(str('--stack') ?? env.FANFOLD_STACK ?? 'Fanfold'),
        out: str('--out'),
        cdkArgs: after,
      };
    }
  }
}

/** One example per command, for the usage errors (the help has more). */
const EXAMPLE: Readonly<Record<(typeof COMMANDS)[number], string>> = {
  run: 'fanfold run job.ts',
  jobs: 'fanfold jobs --stack Fanfold',
  status: 'fanfold status 5f0c…',
  attach: 'fanfold attach 5f0c… --out results.json',
  cancel: 'fanfold cancel 5f0c…',
  dashboard: 'fanfold dashboard --stack Fanfold --port 8080',
  timeline: 'fanfold timeline 5f0c… --out job.html',
  estimate: 'fanfold estimate --items 1000000 --task-ms 10',
  deploy: 'fanfold deploy --tasks tasks.ts --stack Fanfold',
  synth: 'fanfold synth --tasks tasks.ts --out cdk.out',
  destroy: 'fanfold destroy --tasks tasks.ts --stack Fanfold',
};

function optionalCount(value: string | undefined, name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`Expected ${name} to be an integer ${range}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** `--port`: a TCP port from 0 (any free one) to 65535. */
function optionalPort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535)
    throw new UsageError(
      `Expected --port to be a TCP port, an integer from 0 (any free port) to 65535, got ${JSON.stringify(value)}`,
    );
  return n;
}

/** A CloudFormation stack name: a letter, then letters, digits and hyphens, at most 128. */
function stackName(v: string): string {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(v))
    throw new UsageError(
      `Expected --stack to be a stack name (a letter, then letters, digits or -), got ${JSON.stringify(v)}`,
    );
  return v;
}
