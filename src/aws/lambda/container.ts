/**
 * What every handler sets up once per container: the environment, read and checked, and the
 * backend over it (the AWS adapters, or an injected one in tests).
 */
import type { Backend } from '../../ports.js';
import { awsBackend } from '../backend.js';
import { type FanfoldEnv, readEnv } from './env.js';

/** The options every handler factory shares. */
export interface ContainerOptions {
  /** The environment to read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Makes the backend (tests inject one). @default the AWS adapters named by the environment */
  readonly backend?: (env: FanfoldEnv) => Backend;
}

/**
 * Reads the environment and makes the backend: once per container. `sendConcurrency` is the work
 * queue's SendMessageBatch calls in flight (the coordinator sends many).
 */
export function containerBackend(
  options: ContainerOptions,
  tuning: { readonly sendConcurrency?: number } = {},
): { env: FanfoldEnv; backend: Backend } {
  const env = readEnv(options.env ?? process.env);
  const backend = options.backend
    ? options.backend(env)
    : awsBackend({
        tableName: env.table,
        queueUrl: env.queueUrl,
        deadLetterQueueUrl: env.deadLetterQueueUrl,
        bucket: env.bucket,
        ...tuning,
      });
  return { env, backend };
}
