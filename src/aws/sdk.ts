/**
 * The AWS SDK is an optional peer dependency: `import 'fanfold'` never loads it, and a program
 * that only uses `local()` need not install it. Every path that loads it (the `aws()` context's
 * adapters, the primitives' clients) goes through {@link loadSdk}, so that a missing client is one
 * typed error naming what to install instead of a bare "Cannot find package".
 */
import { MissingDependencyError } from '../errors.js';

/** The SDK clients of the `aws()` context and of the stack's functions: peer dependencies of fanfold. */
export const AWS_SDK_PACKAGES = Object.freeze([
  '@aws-sdk/client-cloudformation',
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/client-lambda',
  '@aws-sdk/client-s3',
  '@aws-sdk/client-sqs',
] as const);

/**
 * Runs `load`, a dynamic `import()` that reaches the SDK. When it fails because an `@aws-sdk/*`
 * package cannot be found, throws {@link MissingDependencyError} naming every client to install;
 * any other failure is rethrown as it is.
 *
 * @example
 * ```ts
 * const { DynamoDBClient } = await loadSdk(() => import('@aws-sdk/client-dynamodb'));
 * ```
 */
export async function loadSdk<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const missing = missingSdkPackage(e);
    if (missing === undefined) throw e;
    throw new MissingDependencyError('The aws() context', AWS_SDK_PACKAGES, missing, { cause: e });
  }
}

/**
 * The `@aws-sdk/*` package that a module-not-found error of Node's ESM or CommonJS loader names
 * ("Cannot find package '@aws-sdk/client-sqs' imported from …"), or `undefined` for any other error.
 */
export function missingSdkPackage(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const code = (e as { code?: unknown }).code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  return /['"](@aws-sdk\/[^'"/]+)/.exec(e.message)?.[1];
}
