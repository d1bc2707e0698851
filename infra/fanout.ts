/**
 * The coordinator's fan-out on the `Fanfold` construct: its settings (the variables the coordinator
 * reads with `readFanoutEnv`), its right to invoke itself and the worker asynchronously, and its
 * asynchronous invocations' retries and on-failure destination (the dead-letter queue, whose
 * function fails the job of a fan-out that never ran).
 */
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { EventInvokeConfig, type IDestination, type IFunction } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../src/aws/lambda/env.js';
import type { ResolvedProps } from './props.js';

/** What the fan-out is set on. */
export interface FanoutParts {
  readonly coordinator: NodejsFunction;
  readonly worker: IFunction;
  readonly deadLetterQueue: IQueue;
}

/** Retries of a failed asynchronous invocation of the coordinator (Lambda's default, stated). */
export const COORDINATOR_RETRY_ATTEMPTS = 2;
/** How long a fan-out request may wait in Lambda's queue (throttled) before it counts as failed. */
export const COORDINATOR_MAX_EVENT_AGE = Duration.hours(6);

/** Sets the coordinator's fan-out up; returns its asynchronous invocation configuration. */
export function configureFanout(
  scope: Construct,
  { coordinator, worker, deadLetterQueue }: FanoutParts,
  settings: ResolvedProps['coordinator'],
): EventInvokeConfig {
  coordinator.addEnvironment(ENV.leafChunks, String(settings.leafChunks));
  coordinator.addEnvironment(ENV.workerFunction, worker.functionName);
  coordinator.addEnvironment(ENV.workerBurst, String(settings.drainWorkers));
  if (settings.fanoutBudget)
    coordinator.addEnvironment(ENV.fanoutBudgetMs, String(settings.fanoutBudget.toMilliseconds()));
  // A policy of its own: in the role's default policy, the function's own ARN would make the
  // function depend on a policy that depends on the function.
  new iam.Policy(scope, 'CoordinatorInvokePolicy', {
    roles: [coordinator.role as iam.IRole],
    statements: [
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [coordinator.functionArn, worker.functionArn],
      }),
    ],
  });
  // Lambda sends the record of a fan-out that failed for good with the coordinator's role, and
  // checks that right when the configuration is made: so in the default policy, which the
  // function (and therefore the configuration) depends on.
  iam.Grant.addToPrincipal({
    grantee: coordinator,
    actions: ['sqs:SendMessage'],
    resourceArns: [deadLetterQueue.queueArn],
  });
  // Not SqsDestination: it also grants GetQueueAttributes and GetQueueUrl, which nothing calls.
  const onFailure: IDestination = { bind: () => ({ destination: deadLetterQueue.queueArn }) };
  return new EventInvokeConfig(scope, 'CoordinatorAsyncInvoke', {
    function: coordinator,
    retryAttempts: COORDINATOR_RETRY_ATTEMPTS,
    maxEventAge: COORDINATOR_MAX_EVENT_AGE,
    onFailure,
  });
}
