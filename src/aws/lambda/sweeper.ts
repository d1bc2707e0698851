/**
 * The sweeper Lambda: an EventBridge schedule runs it every 30 minutes (by default) to delete the
 * SQS queues of abandoned `Queue`s and `Pipe`s under the stack's queue prefix (see
 * `src/aws/sync/sweep.ts` for the rules). It reads three variables: the table, the prefix and the
 * staleness threshold; it logs one JSON line per run with what it deleted.
 */
import { InvalidArgumentError } from '../../errors.js';
import { createDynamoClient, createS3Client, createSqsClient } from '../clients.js';
import type { AwsSyncClients } from '../sync/env.js';
import { type SweepReport, sweepQueues } from '../sync/sweep.js';
import { ENV } from './env.js';

/** Options of {@link createSweeperHandler}. */
export interface SweeperHandlerOptions {
  /** The environment to read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The SDK clients. @default clients made once per container */
  readonly clients?: AwsSyncClients;
  /** Told what each run did. @default a JSON log line on stdout */
  readonly onReport?: (report: SweepReport) => void;
}

/** The sweeper's settings, read from the environment. */
function readSweeperEnv(env: NodeJS.ProcessEnv): { table: string; prefix: string; staleMs: number } {
  const problems: string[] = [];
  const table = env[ENV.table] ?? '';
  if (!table) problems.push(`${ENV.table} is not set`);
  const prefix = env[ENV.queuePrefix] ?? '';
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(prefix))
    problems.push(
      `${ENV.queuePrefix} must be 1 to 40 letters, digits, - or _, got ${JSON.stringify(prefix)}`,
    );
  const raw = env[ENV.queueStaleMs];
  const staleMs = Number(raw);
  if (!raw || !Number.isInteger(staleMs) || staleMs < 60_000)
    problems.push(`${ENV.queueStaleMs} must be an integer >= 60000, got ${JSON.stringify(raw)}`);
  if (problems.length > 0)
    throw new InvalidArgumentError(`fanfold's sweeper environment: ${problems.join('; ')}`);
  return { table, prefix, staleMs };
}

/**
 * Makes the sweeper's handler.
 *
 * @example
 * ```ts
 * // functions/sweeper.ts
 * export const handler = createSweeperHandler();
 * ```
 */
export function createSweeperHandler(
  options: SweeperHandlerOptions = {},
): (event: unknown) => Promise<SweepReport> {
  const onReport =
    options.onReport ??
    ((r: SweepReport) => console.log(JSON.stringify({ level: 'INFO', source: 'fanfold.sweeper', ...r })));
  let clients: AwsSyncClients | undefined = options.clients;
  return async () => {
    const { table, prefix, staleMs } = readSweeperEnv(options.env ?? process.env);
    clients ??= { sqs: createSqsClient(), dynamo: createDynamoClient(), s3: createS3Client() };
    const c = clients;
    const report = await sweepQueues(
      {
        table,
        bucket: '',
        queuePrefix: prefix,
        clients: async () => c,
        leaseMs: 30_000,
        pollMs: { min: 20, max: 1000 },
      },
      { staleMs },
    );
    onReport(report);
    return report;
  };
}
