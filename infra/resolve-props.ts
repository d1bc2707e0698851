/**
 * Applies the {@link FANFOLD_DEFAULTS} to {@link FanfoldProps} and checks every field, reporting
 * every problem in a single error.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import { Architecture, type ProvisionedPollerConfig, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { defaultHandBackMargin, LOG_LEVELS, threadsForMemory } from '../src/aws/lambda/env.js';
import { InvalidArgumentError } from '../src/errors.js';
import { received } from '../src/validate.js';
import { FANFOLD_DEFAULTS, type FanfoldProps, type ResolvedProps } from './props.js';

/** Concurrent invokes per provisioned poller, and the default account concurrency (AWS figures). */
const INVOKES_PER_POLLER = 10;
const ACCOUNT_CONCURRENCY = 1000;
const RUNTIMES = ['nodejs22.x', 'nodejs24.x'];
const ARCHITECTURES = [Architecture.ARM_64.name, Architecture.X86_64.name];
const TOP_KEYS = [
  'tasks',
  'runtime',
  'architecture',
  'coordinator',
  'worker',
  'deadLetter',
  'maxReceiveCount',
  'payloadExpiration',
  'pointInTimeRecovery',
  'removalPolicy',
  'logRetention',
  'queuePrefix',
  'sweeper',
  'logLevel',
  'metricsNamespace',
  'serviceName',
];
const FUNCTION_KEYS = ['memorySize', 'timeout'];
const COORDINATOR_KEYS = [...FUNCTION_KEYS, 'leafChunks', 'fanoutBudget', 'drainWorkers'];
const SWEEPER_KEYS = [...FUNCTION_KEYS, 'staleAfter', 'every'];
const WORKER_KEYS = [
  ...FUNCTION_KEYS,
  'messageVisibility',
  'handBackMargin',
  'reservedConcurrency',
  'batchSize',
  'maxBatchingWindow',
  'maxConcurrency',
  'provisionedPollerConfig',
];

/**
 * Applies the defaults and checks every field; throws one {@link InvalidArgumentError} that lists
 * every problem found, so a stack with two mistakes is fixed in one round.
 */
export function resolveFanfoldProps(props: FanfoldProps): ResolvedProps {
  const problems: string[] = [];
  const p = objectOf(props, 'props', TOP_KEYS, problems);
  const int = (v: unknown, name: string, min: number, max: number, fallback: number): number => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || Token.isUnresolved(v) || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`Expected ${name} to be an integer from ${min} to ${max}, got ${received(v)}`);
      return fallback;
    }
    return v;
  };
  const seconds = (v: unknown, name: string, min: number, max: number, fallback: Duration): Duration => {
    if (v === undefined) return fallback;
    const s = v instanceof Duration && !Token.isUnresolved(v) ? wholeSeconds(v) : undefined;
    if (s === undefined || s < min || s > max) {
      problems.push(
        `Expected ${name} to be a Duration of ${min} to ${max} whole seconds, got ${describe(v)}`,
      );
      return fallback;
    }
    return v as Duration;
  };
  const fn = (key: 'coordinator' | 'deadLetter') => {
    const f = objectOf(
      p[key],
      `props.${key}`,
      key === 'coordinator' ? COORDINATOR_KEYS : FUNCTION_KEYS,
      problems,
    );
    const d = FANFOLD_DEFAULTS[key];
    return {
      memorySize: int(f.memorySize, `props.${key}.memorySize`, 128, 10_240, d.memorySize),
      timeout: seconds(f.timeout, `props.${key}.timeout`, 1, 900, d.timeout),
    };
  };
  /** The coordinator's fan-out props; `workers` is the stack's concurrent worker invocations. */
  const fanout = (timeout: Duration, workers: number) => {
    const f = (p.coordinator ?? {}) as Record<string, unknown>;
    const budget = f.fanoutBudget;
    let fanoutBudget: Duration | undefined;
    if (budget !== undefined) {
      const ms =
        budget instanceof Duration && !Token.isUnresolved(budget) ? budget.toMilliseconds() : undefined;
      if (ms === undefined || !Number.isInteger(ms) || ms < 1 || ms > timeout.toMilliseconds())
        problems.push(
          `Expected props.coordinator.fanoutBudget to be a Duration of 1 ms to the coordinator's timeout (${timeout.toHumanString()}), got ${describe(budget)}`,
        );
      else fanoutBudget = budget as Duration;
    }
    return {
      leafChunks: int(
        f.leafChunks,
        'props.coordinator.leafChunks',
        1,
        10_000_000,
        FANFOLD_DEFAULTS.coordinator.leafChunks,
      ),
      fanoutBudget,
      drainWorkers: int(f.drainWorkers, 'props.coordinator.drainWorkers', 0, 10_000, workers),
    };
  };

  const sweeper = () => {
    const f = objectOf(p.sweeper, 'props.sweeper', SWEEPER_KEYS, problems);
    const d = FANFOLD_DEFAULTS.sweeper;
    const minutes = (v: unknown, name: string, min: number, max: number, fallback: Duration) => {
      const m = seconds(v, name, min * 60, max * 60, fallback);
      if (m.toSeconds() % 60 !== 0) {
        problems.push(`Expected ${name} to be a whole number of minutes, got ${m.toHumanString()}`);
        return fallback;
      }
      return m;
    };
    return {
      memorySize: int(f.memorySize, 'props.sweeper.memorySize', 128, 10_240, d.memorySize),
      timeout: seconds(f.timeout, 'props.sweeper.timeout', 1, 900, d.timeout),
      staleAfter: minutes(f.staleAfter, 'props.sweeper.staleAfter', 30, 7 * 24 * 60, d.staleAfter),
      every: minutes(f.every, 'props.sweeper.every', 1, 24 * 60, d.every),
    };
  };

  const tasks = tasksPath(p.tasks, problems);
  const runtime = (p.runtime ?? Runtime.NODEJS_22_X) as Runtime;
  if (!RUNTIMES.includes((runtime as { name?: unknown } | null)?.name as string))
    problems.push(
      `Expected props.runtime to be Runtime.NODEJS_22_X or Runtime.NODEJS_24_X, got ${describe(runtime)}`,
    );
  const architecture = (p.architecture ?? Architecture.ARM_64) as Architecture;
  if (!ARCHITECTURES.includes((architecture as { name?: unknown } | null)?.name as string))
    problems.push(
      `Expected props.architecture to be Architecture.ARM_64 or Architecture.X86_64, got ${describe(architecture)}`,
    );

  const w = objectOf(p.worker, 'props.worker', WORKER_KEYS, problems);
  const dw = FANFOLD_DEFAULTS.worker;
  const workerMemory = int(w.memorySize, 'props.worker.memorySize', 128, 10_240, dw.memorySize);
  const maxBatchingWindow =
    w.maxBatchingWindow === undefined
      ? undefined
      : seconds(w.maxBatchingWindow, 'props.worker.maxBatchingWindow', 0, 300, Duration.seconds(0));
  const batchSize = int(w.batchSize, 'props.worker.batchSize', 1, 10_000, dw.batchSize);
  if (batchSize > 10 && (maxBatchingWindow === undefined || maxBatchingWindow.toSeconds() < 1))
    problems.push(
      `props.worker.batchSize over 10 (got ${batchSize}) needs props.worker.maxBatchingWindow of at least 1 second`,
    );
  const poller = pollerConfig(w.provisionedPollerConfig, problems);
  if (w.maxConcurrency !== undefined && w.provisionedPollerConfig !== undefined)
    problems.push(
      'props.worker.maxConcurrency and props.worker.provisionedPollerConfig exclude each other (Lambda refuses both on one event source mapping): set one',
    );
  const maxConcurrency =
    w.provisionedPollerConfig === undefined
      ? int(w.maxConcurrency, 'props.worker.maxConcurrency', 2, 1000, dw.maxConcurrency)
      : undefined;

  const workerTimeout = seconds(w.timeout, 'props.worker.timeout', 1, 900, dw.timeout);
  const messageVisibility = seconds(
    w.messageVisibility,
    'props.worker.messageVisibility',
    5,
    43_200,
    dw.messageVisibility,
  );
  const defaultMargin = Duration.millis(defaultHandBackMargin(workerTimeout.toMilliseconds()));
  const handBackMargin = seconds(w.handBackMargin, 'props.worker.handBackMargin', 0, 899, defaultMargin);
  if (handBackMargin.toMilliseconds() >= workerTimeout.toMilliseconds())
    problems.push(
      `Expected props.worker.handBackMargin to be less than props.worker.timeout (${workerTimeout.toSeconds()} s), got ${handBackMargin.toHumanString()}`,
    );
  const reservedConcurrency =
    w.reservedConcurrency === undefined
      ? undefined
      : int(w.reservedConcurrency, 'props.worker.reservedConcurrency', 1, 1_000_000, 1);
  if (
    reservedConcurrency !== undefined &&
    maxConcurrency !== undefined &&
    reservedConcurrency < maxConcurrency
  )
    problems.push(
      `props.worker.reservedConcurrency (${reservedConcurrency}) is below props.worker.maxConcurrency (${maxConcurrency}): the event source mapping would be throttled`,
    );

  const threads = threadsForMemory(workerMemory);
  // Provisioned mode has no concurrency cap of its own: each poller runs up to 10 invokes at once,
  // and the account's concurrency (1,000 by default) bounds them all.
  const concurrency =
    maxConcurrency ??
    Math.min(
      ACCOUNT_CONCURRENCY,
      (poller?.maximumPollers ?? FANFOLD_DEFAULTS.maximumPollers) * INVOKES_PER_POLLER,
    );

  const coordinator = fn('coordinator');
  const resolved: ResolvedProps = {
    tasks,
    runtime,
    architecture,
    coordinator: { ...coordinator, ...fanout(coordinator.timeout, concurrency) },
    deadLetter: fn('deadLetter'),
    worker: {
      memorySize: workerMemory,
      timeout: workerTimeout,
      messageVisibility,
      handBackMargin,
      reservedConcurrency,
      batchSize,
      maxBatchingWindow,
      maxConcurrency,
      provisionedPollerConfig: poller,
    },
    maxReceiveCount: int(
      p.maxReceiveCount,
      'props.maxReceiveCount',
      1,
      1000,
      FANFOLD_DEFAULTS.maxReceiveCount,
    ),
    payloadExpiration: days(p.payloadExpiration, problems),
    pointInTimeRecovery: (p.pointInTimeRecovery ?? false) as boolean,
    removalPolicy: (p.removalPolicy ?? RemovalPolicy.RETAIN) as RemovalPolicy,
    logRetention: (p.logRetention ?? RetentionDays.ONE_MONTH) as RetentionDays,
    queuePrefix: prefix(p.queuePrefix, problems),
    sweeper: sweeper(),
    ...observability(p, problems),
    threads,
    workers: concurrency * threads,
  };
  if (typeof resolved.pointInTimeRecovery !== 'boolean')
    problems.push(
      `Expected props.pointInTimeRecovery to be a boolean, got ${received(p.pointInTimeRecovery)}`,
    );
  if (!Object.values(RemovalPolicy).includes(resolved.removalPolicy))
    problems.push(`Expected props.removalPolicy to be a RemovalPolicy, got ${received(p.removalPolicy)}`);
  if (!Object.values(RetentionDays).includes(resolved.logRetention))
    problems.push(`Expected props.logRetention to be a RetentionDays, got ${received(p.logRetention)}`);

  if (problems.length > 0)
    throw new InvalidArgumentError(
      `Invalid Fanfold props (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((m) => `  - ${m}`).join('\n')}`,
    );
  return resolved;
}

/** `v` as an object with only `keys`, noting anything else; `{}` for undefined. */
function objectOf(
  v: unknown,
  name: string,
  keys: readonly string[],
  problems: string[],
): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    problems.push(`Expected ${name} to be an object, got ${received(v)}`);
    return {};
  }
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) problems.push(`${name}.${k} is not a Fanfold prop (known: ${keys.join(', ')})`);
  }
  return v as Record<string, unknown>;
}

/** The tasks module's absolute path, checked to be an existing file. */
function tasksPath(v: unknown, problems: string[]): string {
  let path: string | undefined;
  if (v instanceof URL && v.protocol === 'file:') path = fileURLToPath(v);
  else if (typeof v === 'string' && v.startsWith('file:')) path = fileURLToPath(v);
  else if (typeof v === 'string' && v.length > 0) path = isAbsolute(v) ? v : resolve(v);
  if (path === undefined) {
    problems.push(`Expected props.tasks to be the path or file URL of a tasks module, got ${received(v)}`);
    return '';
  }
  if (!existsSync(path) || !statSync(path).isFile()) {
    problems.push(`props.tasks: no file at ${path}`);
  } else if (!/\.(?:[cm]?[jt]s|[jt]sx)$/.test(path)) {
    problems.push(`props.tasks: ${path} is not a JavaScript or TypeScript module`);
  }
  return path;
}

/** `logLevel`, `metricsNamespace` and `serviceName`, checked. */
function observability(
  p: Record<string, unknown>,
  problems: string[],
): Pick<ResolvedProps, 'logLevel' | 'metricsNamespace' | 'serviceName'> {
  const level = p.logLevel ?? FANFOLD_DEFAULTS.logLevel;
  let logLevel: ResolvedProps['logLevel'] = FANFOLD_DEFAULTS.logLevel;
  if (typeof level === 'string' && (LOG_LEVELS as readonly string[]).includes(level))
    logLevel = level as ResolvedProps['logLevel'];
  else
    problems.push(
      `Expected props.logLevel to be one of ${LOG_LEVELS.map((l) => `'${l}'`).join(', ')}, got ${received(p.logLevel)}`,
    );
  const ns = p.metricsNamespace ?? FANFOLD_DEFAULTS.metricsNamespace;
  let metricsNamespace: string = FANFOLD_DEFAULTS.metricsNamespace;
  if (typeof ns === 'string' && /^[A-Za-z0-9.\-_/#: ]{1,255}$/.test(ns) && !ns.startsWith('AWS/'))
    metricsNamespace = ns;
  else
    problems.push(
      `Expected props.metricsNamespace to be 1 to 255 letters, digits, spaces or .-_/#: not starting with AWS/, got ${received(p.metricsNamespace)}`,
    );
  const service = p.serviceName;
  let serviceName: string | undefined;
  if (service !== undefined) {
    if (typeof service === 'string' && service.trim().length > 0 && service.length <= 255)
      serviceName = service;
    else problems.push(`Expected props.serviceName to be 1 to 255 characters, got ${received(service)}`);
  }
  return { logLevel, metricsNamespace, serviceName };
}

function prefix(v: unknown, problems: string[]): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(v)) {
    problems.push(`Expected props.queuePrefix to be 1 to 40 letters, digits, - or _, got ${received(v)}`);
    return undefined;
  }
  return v;
}

function pollerConfig(v: unknown, problems: string[]): ProvisionedPollerConfig | undefined {
  if (v === undefined) return undefined;
  const c = objectOf(
    v,
    'props.worker.provisionedPollerConfig',
    ['minimumPollers', 'maximumPollers'],
    problems,
  );
  const check = (k: 'minimumPollers' | 'maximumPollers', max: number) => {
    const n = c[k];
    if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > max))
      problems.push(
        `Expected props.worker.provisionedPollerConfig.${k} to be an integer from 2 to ${max}, got ${received(n)}`,
      );
  };
  check('minimumPollers', 200);
  check('maximumPollers', 2000);
  const min = c.minimumPollers;
  const max = c.maximumPollers;
  if (typeof min === 'number' && typeof max === 'number' && min > max)
    problems.push(
      `props.worker.provisionedPollerConfig.minimumPollers (${min}) is more than maximumPollers (${max})`,
    );
  return c as ProvisionedPollerConfig;
}

function days(v: unknown, problems: string[]): Duration {
  if (v === undefined) return FANFOLD_DEFAULTS.payloadExpiration;
  if (v instanceof Duration && !Token.isUnresolved(v)) {
    try {
      if (v.toDays() >= 1) return v;
    } catch {
      // Not a whole number of days: reported below.
    }
  }
  problems.push(
    `Expected props.payloadExpiration to be a Duration of 1 or more whole days, got ${describe(v)}`,
  );
  return FANFOLD_DEFAULTS.payloadExpiration;
}

function wholeSeconds(d: Duration): number | undefined {
  try {
    return d.toSeconds();
  } catch {
    return undefined;
  }
}

/** Like `received`, but shows a Duration or Runtime by its own text. */
function describe(v: unknown): string {
  if (v instanceof Duration) return v.toHumanString();
  if (v instanceof Runtime) return v.name;
  if (v instanceof Architecture) return v.name;
  return received(v);
}
