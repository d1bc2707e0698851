/**
 * `AWS::Lambda::EventInvokeConfig`: how Lambda runs a function's asynchronous invocations (its
 * retries after a function error, the longest an event may wait, and where the record of an
 * invocation goes once it succeeded or failed for good). The runner models destinations that are
 * SQS queues of the stack; any other destination is refused, naming it.
 */
import type { ResolveContext } from './template.js';
import { resolveString } from './template.js';

/** An SQS queue of the stack, as a destination. */
export interface QueueDestination {
  readonly arn: string;
  readonly url: string;
}

/** A function's asynchronous invocation settings, resolved. */
export interface EventInvokeConfigSpec {
  readonly logicalId: string;
  /** The function's name. */
  readonly functionName: string;
  /** Retries after a function error: 0 to 2 (Lambda's default, 2). */
  readonly maximumRetryAttempts: number;
  /** How long an event may wait before it is given up, 60 to 21,600 s (Lambda's default, 21,600). */
  readonly maximumEventAgeSeconds: number;
  readonly onFailure: QueueDestination | undefined;
  readonly onSuccess: QueueDestination | undefined;
}

/** Lambda's settings for a function that has no EventInvokeConfig. */
export const DEFAULT_INVOKE_CONFIG = { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600 } as const;

/** Resolves one EventInvokeConfig; `queues` are the stack's queues by ARN. */
export function resolveInvokeConfig(
  id: string,
  props: Record<string, unknown>,
  ctx: ResolveContext,
  queues: ReadonlyMap<string, { url: string }>,
): EventInvokeConfigSpec {
  const problems: string[] = [];
  const qualifier = props.Qualifier === undefined ? '$LATEST' : String(props.Qualifier);
  if (qualifier !== '$LATEST') problems.push(`Qualifier ${qualifier}: the runner runs $LATEST only`);
  const retries = Number(props.MaximumRetryAttempts ?? DEFAULT_INVOKE_CONFIG.maximumRetryAttempts);
  if (!Number.isInteger(retries) || retries < 0 || retries > 2)
    problems.push(`MaximumRetryAttempts ${retries} is out of 0..2`);
  const age = Number(props.MaximumEventAgeInSeconds ?? DEFAULT_INVOKE_CONFIG.maximumEventAgeSeconds);
  if (!Number.isInteger(age) || age < 60 || age > 21_600)
    problems.push(`MaximumEventAgeInSeconds ${age} is out of 60..21600`);
  const config = (props.DestinationConfig ?? {}) as Record<string, { Destination?: unknown } | undefined>;
  const destination = (kind: 'OnFailure' | 'OnSuccess'): QueueDestination | undefined => {
    const arn = config[kind]?.Destination;
    if (arn === undefined) return undefined;
    const queue = typeof arn === 'string' ? queues.get(arn) : undefined;
    if (!queue) {
      problems.push(
        `DestinationConfig.${kind} ${JSON.stringify(arn)}: the runner delivers to the stack's SQS queues only`,
      );
      return undefined;
    }
    return { arn: arn as string, url: queue.url };
  };
  const onFailure = destination('OnFailure');
  const onSuccess = destination('OnSuccess');
  if (problems.length > 0) throw new Error(`${id}: ${problems.join('; ')}`);
  return {
    logicalId: id,
    functionName: resolveString(props.FunctionName, ctx, `${id}.FunctionName`),
    maximumRetryAttempts: retries,
    maximumEventAgeSeconds: age,
    onFailure,
    onSuccess,
  };
}
