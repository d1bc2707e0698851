/**
 * What the `Fanfold` construct adds for the AWS context's primitives: the SQS queue name prefix,
 * least-privilege grants on the queues under it (and on spilled items under `sync/` in the
 * bucket), and the schedule of the sweeper that deletes abandoned queues.
 */
import { createHash } from 'node:crypto';
import { ArnFormat, type Duration, Stack, Token } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** The bucket prefix of queue items over the SQS limit (`sync/<queue>/<uuid>`). */
export const SYNC_BLOB_PREFIX = 'sync/';

/**
 * What a party of a Queue or Pipe sends to its SQS queues (no TagQueue: queues are made untagged;
 * no GetQueueAttributes or ChangeMessageVisibility: only the sweeper reads a queue's age, and a
 * received message is deleted or left to its visibility timeout). Checked against the code by
 * test/infra/iam.test.ts.
 */
export const QUEUE_ACTIONS = [
  'sqs:CreateQueue',
  'sqs:DeleteQueue',
  'sqs:GetQueueUrl',
  'sqs:SendMessage',
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
];

/**
 * The default queue prefix of a stack: its name and `_`. CloudFormation stack names are letters,
 * digits and `-`, so no other stack's prefix starts with this one. A name over 39 characters is
 * cut to 30 and given 8 hex digits of its hash (queue names must stay within 80 characters).
 */
export function defaultQueuePrefix(stackName: string): string {
  if (Token.isUnresolved(stackName)) return 'fanfold_';
  if (stackName.length <= 39) return `${stackName}_`;
  const hash = createHash('sha256').update(stackName).digest('hex').slice(0, 8);
  return `${stackName.slice(0, 30)}-${hash}_`;
}

/** The ARN pattern of every queue under `prefix` in the stack's account and region. */
export function queueArnPattern(scope: Construct, prefix: string): string {
  return Stack.of(scope).formatArn({
    service: 'sqs',
    resource: `${prefix}*`,
    arnFormat: ArnFormat.NO_RESOURCE_NAME,
  });
}

/** Grants the queue operations under `prefix` and the spilled items under `sync/` in `bucket`. */
export function grantQueues(
  scope: Construct,
  grantee: iam.IGrantable,
  prefix: string,
  bucket: IBucket,
): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: QUEUE_ACTIONS,
    resourceArns: [queueArnPattern(scope, prefix)],
  })
    .combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resourceArns: [bucket.arnForObjects(`${SYNC_BLOB_PREFIX}*`)],
      }),
    )
    .combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:ListBucket'],
        resourceArns: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${SYNC_BLOB_PREFIX}*`] } },
      }),
    );
}

/**
 * The sweeper's rights: list queue names (ListQueues takes no queue ARN, only the account's
 * pattern), read the age of and delete queues under `prefix`, read registry items and write
 * their tombstones.
 */
export function grantSweeper(
  scope: Construct,
  sweeper: iam.IGrantable,
  prefix: string,
  grantTable: (grantee: iam.IGrantable) => iam.Grant,
): iam.Grant {
  const stack = Stack.of(scope);
  return iam.Grant.addToPrincipal({
    grantee: sweeper,
    actions: ['sqs:ListQueues'],
    resourceArns: [stack.formatArn({ service: 'sqs', resource: '*', arnFormat: ArnFormat.NO_RESOURCE_NAME })],
  })
    .combine(
      iam.Grant.addToPrincipal({
        grantee: sweeper,
        actions: ['sqs:GetQueueAttributes', 'sqs:DeleteQueue'],
        resourceArns: [queueArnPattern(scope, prefix)],
      }),
    )
    .combine(grantTable(sweeper));
}

/** Runs `sweeper` every `every`. */
export function sweeperSchedule(scope: Construct, sweeper: IFunction, every: Duration): Rule {
  return new Rule(scope, 'SweeperSchedule', {
    description: 'fanfold: delete the SQS queues of abandoned Queues and Pipes',
    schedule: Schedule.rate(every),
    targets: [new LambdaFunction(sweeper, { retryAttempts: 0 })],
  });
}
