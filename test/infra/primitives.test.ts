/**
 * The Fanfold construct's part for the AWS primitives: the queue prefix, the least-privilege
 * grants on queues under it, the sweeper and its schedule, and grantPrimitives().
 */
import { fileURLToPath } from 'node:url';
import { App, type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { FANFOLD_OUTPUTS, Fanfold, type FanfoldProps } from '../../infra/fanfold.js';
import { defaultQueuePrefix } from '../../infra/primitives.js';
import { InvalidArgumentError } from '../../src/errors.js';

const TASKS = fileURLToPath(new URL('./fixtures/tasks.ts', import.meta.url));

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };

function build(props: Partial<FanfoldProps> = {}, stackName = 'Test') {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, stackName);
  const fanfold = new Fanfold(stack, 'Fanfold', { tasks: TASKS, ...props });
  return { stack, fanfold, template: () => Template.fromStack(stack) };
}

function logicalId(stack: Stack, c: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(c.node.defaultChild as CfnElement);
}

function statementsOf(template: Template, roleId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) },
  });
  return Object.values(policies).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
        .Statement,
  );
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const roleOf = (stack: Stack, fn: { role?: iam.IRole }) => logicalId(stack, fn.role as iam.Role);

/** The ARN pattern CDK's formatArn gives for `resource` in the stack's account and region. */
const sqsArn = (resource: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':sqs:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:${resource}`,
    ],
  ],
});

describe('Fanfold primitives', () => {
  describe('queuePrefix', () => {
    it('defaults to the stack name and _, and is an output and a variable of every function', () => {
      const { fanfold, template } = build();
      expect(fanfold.queuePrefix).toBe('Test_');
      const t = template();
      expect(t.toJSON().Outputs[FANFOLD_OUTPUTS.queuePrefix].Value).toBe('Test_');
      for (const fn of Object.values(t.findResources('AWS::Lambda::Function')))
        expect(
          (fn as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties
            .Environment.Variables.FANFOLD_QUEUE_PREFIX,
        ).toBe('Test_');
    });

    it('cuts a long stack name and adds a hash, within 40 characters', () => {
      const name = `A${'b'.repeat(60)}`;
      const prefix = defaultQueuePrefix(name);
      expect(prefix.length).toBeLessThanOrEqual(40);
      expect(prefix).toMatch(/^Ab{29}-[0-9a-f]{8}_$/);
      expect(defaultQueuePrefix(`${name}x`)).not.toBe(prefix);
    });

    it('takes a prefix from props and refuses a malformed one', () => {
      expect(build({ queuePrefix: 'my-app-' }).fanfold.queuePrefix).toBe('my-app-');
      expect(() => build({ queuePrefix: 'has space' })).toThrow(InvalidArgumentError);
      expect(() => build({ queuePrefix: 'x'.repeat(41) })).toThrow(InvalidArgumentError);
    });
  });

  describe('permissions', () => {
    it("lets the worker use queues under the prefix and items under sync/, and nothing else's", () => {
      const { stack, fanfold, template } = build();
      const statements = statementsOf(template(), roleOf(stack, fanfold.worker));
      const queues = statements.find((s) => actions(s).includes('sqs:CreateQueue'));
      expect(queues?.Resource).toEqual(sqsArn('Test_*'));
      // Which actions: test/infra/iam.test.ts derives them from the code.
      expect(actions(queues as Statement)).toContain('sqs:CreateQueue');
      const bucket = { 'Fn::GetAtt': [logicalId(stack, fanfold.bucket), 'Arn'] };
      const blobs = statements.find(
        (s) => actions(s).includes('s3:PutObject') && JSON.stringify(s.Resource).includes('/sync/*'),
      );
      expect(blobs?.Resource).toEqual({ 'Fn::Join': ['', [bucket, '/sync/*']] });
      expect(statements.find((s) => JSON.stringify(s.Condition ?? {}).includes('sync/*'))?.Resource).toEqual(
        bucket,
      );
    });

    it('gives the coordinator and the dead-letter function no queue creation', () => {
      const { stack, fanfold, template } = build();
      const t = template();
      for (const fn of [fanfold.coordinator, fanfold.deadLetterFunction])
        expect(statementsOf(t, roleOf(stack, fn)).flatMap(actions)).not.toContain('sqs:CreateQueue');
    });

    it('lets the sweeper list queues, delete those under the prefix, and read and tombstone their items', () => {
      const { stack, fanfold, template } = build();
      const statements = statementsOf(template(), roleOf(stack, fanfold.sweeper));
      const byAction = (a: string) => statements.find((s) => actions(s).includes(a));
      expect(byAction('sqs:ListQueues')?.Resource).toEqual(sqsArn('*'));
      expect(actions(byAction('sqs:ListQueues') as Statement)).toEqual(['sqs:ListQueues']);
      expect(byAction('sqs:DeleteQueue')?.Resource).toEqual(sqsArn('Test_*'));
      expect(actions(byAction('sqs:DeleteQueue') as Statement).sort()).toEqual([
        'sqs:DeleteQueue',
        'sqs:GetQueueAttributes',
      ]);
      expect(actions(byAction('dynamodb:GetItem') as Statement).sort()).toEqual([
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
      ]);
      expect(statements.flatMap(actions).filter((a) => a.startsWith('s3:'))).toEqual([]);
    });

    it("grantPrimitives gives a caller the table, the prefix's queues and sync/ items", () => {
      const { stack, fanfold, template } = build();
      const user = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
      fanfold.grantPrimitives(user);
      const statements = statementsOf(template(), logicalId(stack, user));
      expect(statements.find((s) => actions(s).includes('sqs:SendMessage'))?.Resource).toEqual(
        sqsArn('Test_*'),
      );
      expect(statements.flatMap(actions)).toEqual(
        expect.arrayContaining(['dynamodb:UpdateItem', 's3:PutObject']),
      );
      expect(statements.flatMap(actions)).not.toContain('lambda:InvokeFunction');
    });
  });

  describe('sweeper', () => {
    it('runs every 30 minutes with a 2-hour threshold by default', () => {
      const { stack, fanfold, template } = build();
      const t = template();
      t.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(30 minutes)',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack, fanfold.sweeper), 'Arn'] } })],
      });
      t.hasResourceProperties('AWS::Lambda::Function', {
        MemorySize: 256,
        Timeout: 60,
        Environment: { Variables: Match.objectLike({ FANFOLD_QUEUE_STALE_MS: '7200000' }) },
      });
    });

    it('takes its schedule and threshold from props, and refuses a threshold under 30 minutes', () => {
      build({ sweeper: { every: Duration.hours(1), staleAfter: Duration.hours(6) } })
        .template()
        .hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
      expect(() => build({ sweeper: { staleAfter: Duration.minutes(10) } })).toThrow(InvalidArgumentError);
      expect(() => build({ sweeper: { every: Duration.seconds(90) } })).toThrow(InvalidArgumentError);
    });
  });
});
