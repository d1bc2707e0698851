import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App, type CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FANFOLD_OUTPUTS, Fanfold, type FanfoldProps } from '../../infra/fanfold.js';
import { TTL_ATTRIBUTE } from '../../src/aws/dynamo-items.js';
import { LIST_DAY, LIST_INDEX, LIST_SORT } from '../../src/aws/job-list.js';
import { TASKS_FINGERPRINT_PATTERN, tasksFingerprint } from '../../src/aws/tasks-fingerprint.js';
import { ErrorCodes, InvalidArgumentError } from '../../src/errors.js';
import { SYNTH_TIMEOUT_MS, synthInto } from '../e2e/fanfold-assembly.js';

const TASKS = fileURLToPath(new URL('./fixtures/tasks.ts', import.meta.url));
/** The app of the bundling tests, synthesized in a child process. */
const BUNDLED_APP = fileURLToPath(new URL('./fixtures/bundled-app.ts', import.meta.url));

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };

/** A stack with one Fanfold; bundling skipped (the template is the same, the code is not built). */
function build(props: Partial<FanfoldProps> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test');
  const fanfold = new Fanfold(stack, 'Fanfold', { tasks: TASKS, ...props });
  return { app, stack, fanfold, template: () => Template.fromStack(stack) };
}

function logicalId(stack: Stack, c: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(c.node.defaultChild as CfnElement);
}

/** Every statement of the inline policies attached to the role with logical id `roleId`. */
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

function actionsOf(statements: Statement[]): string[] {
  return statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
}

const ref = (id: string) => ({ Ref: id });
const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

describe('Fanfold', () => {
  describe('resources', () => {
    it('creates a pay-per-request table keyed pk/sk with TTL on expiresAt, retained by default', () => {
      const t = build().template();
      t.resourceCountIs('AWS::DynamoDB::Table', 1);
      t.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        Properties: {
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
            { AttributeName: 'listDay', AttributeType: 'S' },
            { AttributeName: 'createdAt', AttributeType: 'N' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
          // The attribute the job store writes.
          TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
        },
      });
    });

    it('indexes the job items by day of creation, keys only (one index write per job, none per chunk)', () => {
      const t = build().template();
      t.hasResourceProperties('AWS::DynamoDB::Table', {
        GlobalSecondaryIndexes: [
          {
            IndexName: LIST_INDEX,
            KeySchema: [
              { AttributeName: LIST_DAY, KeyType: 'HASH' },
              { AttributeName: LIST_SORT, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      });
    });

    it('makes an encrypted work queue whose visibility is 6 x the worker timeout + the window, redriving after 5 receives', () => {
      const { stack, fanfold, template } = build({
        worker: { timeout: Duration.minutes(2), maxBatchingWindow: Duration.seconds(20) },
      });
      const t = template();
      t.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        VisibilityTimeout: 6 * 120 + 20,
        RedrivePolicy: {
          deadLetterTargetArn: arn(logicalId(stack, fanfold.deadLetterQueue)),
          maxReceiveCount: 5,
        },
      });
      t.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
        // The dead-letter function's default timeout is 30 s.
        VisibilityTimeout: 180,
      });
      // enforceSSL on both queues.
      t.resourcePropertiesCountIs(
        'AWS::SQS::QueuePolicy',
        {
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        },
        2,
      );
    });

    it('takes maxReceiveCount from props', () => {
      build({ maxReceiveCount: 9 })
        .template()
        .hasResourceProperties('AWS::SQS::Queue', {
          RedrivePolicy: Match.objectLike({ maxReceiveCount: 9 }),
        });
    });

    it('makes a private, encrypted, SSL-only bucket whose payloads expire after 7 days', () => {
      const t = build().template();
      t.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'Retain',
        Properties: {
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
            ],
          },
          LifecycleConfiguration: {
            Rules: [
              Match.objectLike({
                ExpirationInDays: 7,
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
                Status: 'Enabled',
              }),
            ],
          },
        },
      });
      t.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('destroys the table and empties and destroys the bucket with RemovalPolicy.DESTROY', () => {
      const t = build({ removalPolicy: RemovalPolicy.DESTROY, pointInTimeRecovery: true }).template();
      t.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Delete',
        Properties: Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      });
      t.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
      t.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
    });
  });

  describe('functions', () => {
    it('runs three arm64 nodejs22.x functions with the documented memory and timeouts', () => {
      const t = build().template();
      const common = { Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' };
      t.hasResourceProperties('AWS::Lambda::Function', { ...common, MemorySize: 1769, Timeout: 60 });
      t.hasResourceProperties('AWS::Lambda::Function', { ...common, MemorySize: 3538, Timeout: 300 });
      t.hasResourceProperties('AWS::Lambda::Function', { ...common, MemorySize: 256, Timeout: 30 });
    });

    it('sets the ENV contract on every function', () => {
      const { stack, fanfold, template } = build();
      const t = template();
      const functions = t.findResources('AWS::Lambda::Function');
      expect(Object.keys(functions)).toHaveLength(4);
      const sweeper = logicalId(stack, fanfold.sweeper);
      const worker = logicalId(stack, fanfold.worker);
      const coordinator = logicalId(stack, fanfold.coordinator);
      for (const [id, fn] of Object.entries(functions)) {
        expect((fn as { Properties: { Environment: unknown } }).Properties.Environment).toEqual({
          Variables: {
            FANFOLD_TABLE: ref(logicalId(stack, fanfold.table)),
            FANFOLD_QUEUE_URL: ref(logicalId(stack, fanfold.queue)),
            FANFOLD_DLQ_URL: ref(logicalId(stack, fanfold.deadLetterQueue)),
            FANFOLD_BUCKET: ref(logicalId(stack, fanfold.bucket)),
            FANFOLD_THREADS: '2',
            FANFOLD_MAX_RECEIVE_COUNT: '5',
            FANFOLD_LEASE_MS: '300000',
            FANFOLD_WORKERS: '100',
            FANFOLD_QUEUE_PREFIX: 'Test_',
            // Powertools' Logger and Metrics: quiet by default, the stack's name as the service.
            POWERTOOLS_LOG_LEVEL: 'WARN',
            POWERTOOLS_METRICS_NAMESPACE: 'fanfold',
            POWERTOOLS_SERVICE_NAME: 'Test',
            ...(id === sweeper ? { FANFOLD_QUEUE_STALE_MS: '7200000' } : {}),
            // The worker holds each message 30 s at a time and hands back 10 s before its 5 min.
            ...(id === worker ? { FANFOLD_VISIBILITY_MS: '30000', FANFOLD_HANDBACK_MARGIN_MS: '10000' } : {}),
            ...(id === coordinator
              ? {
                  FANFOLD_LEAF_CHUNKS: '20000',
                  FANFOLD_WORKER_FUNCTION: ref(logicalId(stack, fanfold.worker)),
                  FANFOLD_WORKER_BURST: '50',
                }
              : {}),
            NODE_OPTIONS: '--enable-source-maps',
          },
        });
      }
    });

    it('derives threads, workers and the lease from the worker settings, and takes the runtime', () => {
      const { fanfold, template } = build({
        runtime: Runtime.NODEJS_24_X,
        worker: { memorySize: 10_240, timeout: Duration.minutes(15), maxConcurrency: 200 },
      });
      expect(fanfold.threads).toBe(6);
      expect(fanfold.workers).toBe(1200);
      template().hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        MemorySize: 10_240,
        Timeout: 900,
        Environment: {
          Variables: Match.objectLike({
            FANFOLD_THREADS: '6',
            FANFOLD_WORKERS: '1200',
            FANFOLD_LEASE_MS: '900000',
          }),
        },
      });
    });

    it('takes the message visibility, the hand-back margin and reserved concurrency from props', () => {
      const { stack, fanfold, template } = build({
        worker: {
          timeout: Duration.seconds(40),
          messageVisibility: Duration.minutes(1),
          handBackMargin: Duration.seconds(5),
          reservedConcurrency: 300,
          maxConcurrency: 200,
        },
      });
      const worker = template().findResources('AWS::Lambda::Function')[logicalId(stack, fanfold.worker)] as {
        Properties: {
          ReservedConcurrentExecutions?: number;
          Environment: { Variables: Record<string, unknown> };
        };
      };
      expect(worker.Properties.ReservedConcurrentExecutions).toBe(300);
      expect(worker.Properties.Environment.Variables).toMatchObject({
        FANFOLD_VISIBILITY_MS: '60000',
        FANFOLD_HANDBACK_MARGIN_MS: '5000',
      });
    });

    it('sets the log level, the metrics namespace and the service name of every function from props', () => {
      const t = build({
        logLevel: 'DEBUG',
        metricsNamespace: 'Team/Batch',
        serviceName: 'nightly',
      }).template();
      const functions = Object.values(t.findResources('AWS::Lambda::Function')) as {
        Properties: { Environment: { Variables: Record<string, unknown> } };
      }[];
      expect(functions).toHaveLength(4);
      for (const fn of functions)
        expect(fn.Properties.Environment.Variables).toMatchObject({
          POWERTOOLS_LOG_LEVEL: 'DEBUG',
          POWERTOOLS_METRICS_NAMESPACE: 'Team/Batch',
          POWERTOOLS_SERVICE_NAME: 'nightly',
        });
    });

    it.each([
      [20, '2000'],
      [5, '1000'],
      [900, '10000'],
    ])('hands back 10%% of a %i s timeout early by default, 1 to 10 s (%s ms)', (timeout, margin) => {
      build({ worker: { timeout: Duration.seconds(timeout) } })
        .template()
        .hasResourceProperties('AWS::Lambda::Function', {
          Environment: { Variables: Match.objectLike({ FANFOLD_HANDBACK_MARGIN_MS: margin }) },
        });
    });
  });

  describe('event source mappings', () => {
    it('feeds the worker batches of 10 with partial batch responses and at most 50 at once', () => {
      const { stack, fanfold, template } = build();
      const t = template();
      t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: arn(logicalId(stack, fanfold.queue)),
        FunctionName: ref(logicalId(stack, fanfold.worker)),
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 50 },
        MaximumBatchingWindowInSeconds: Match.absent(),
      });
      t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: arn(logicalId(stack, fanfold.deadLetterQueue)),
        FunctionName: ref(logicalId(stack, fanfold.deadLetterFunction)),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    });

    it('takes batch size, window and concurrency from props', () => {
      build({ worker: { batchSize: 100, maxBatchingWindow: Duration.seconds(5), maxConcurrency: 1000 } })
        .template()
        .hasResourceProperties('AWS::Lambda::EventSourceMapping', {
          BatchSize: 100,
          MaximumBatchingWindowInSeconds: 5,
          ScalingConfig: { MaximumConcurrency: 1000 },
        });
    });

    it('uses provisioned mode instead of a concurrency cap when provisionedPollerConfig is given', () => {
      const { fanfold, template } = build({
        worker: { provisionedPollerConfig: { minimumPollers: 2, maximumPollers: 20 } },
      });
      template().hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        ProvisionedPollerConfig: { MinimumPollers: 2, MaximumPollers: 20 },
        ScalingConfig: Match.absent(),
      });
      // 20 pollers x 10 invokes each, x 2 threads.
      expect(fanfold.workers).toBe(400);
    });
  });

  describe('permissions', () => {
    it('grants no action on "*" and attaches no managed policy', () => {
      const t = build().template();
      const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
        (p) =>
          (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
            .Statement,
      );
      expect(statements.length).toBeGreaterThan(0);
      // No statement needs a "*" resource: logs go to the functions' own log groups.
      for (const s of statements) {
        const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
        expect(resources).not.toContain('*');
        expect(JSON.stringify(s.Action)).not.toMatch(/:\*"/);
      }
      for (const role of Object.values(t.findResources('AWS::IAM::Role')))
        expect(
          (role as { Properties: { ManagedPolicyArns?: unknown } }).Properties.ManagedPolicyArns,
        ).toBeUndefined();
    });

    // Which actions each role holds: test/infra/iam.test.ts derives them from the code. Here: where.
    it('grants each function its actions on the construct’s own resources', () => {
      const { stack, fanfold, template } = build();
      const t = template();
      const role = (fn: { role?: iam.IRole }) => logicalId(stack, fn.role as iam.Role);
      const workerStatements = statementsOf(t, role(fanfold.worker));
      const sqs = workerStatements.find(
        (s) =>
          actionsOf([s]).includes('sqs:ReceiveMessage') && !JSON.stringify(s.Resource).includes('Test_*'),
      );
      expect(sqs?.Resource).toEqual(arn(logicalId(stack, fanfold.queue)));
      const dlqSqs = statementsOf(t, role(fanfold.deadLetterFunction)).find((s) =>
        actionsOf([s]).includes('sqs:ReceiveMessage'),
      );
      expect(dlqSqs?.Resource).toEqual(arn(logicalId(stack, fanfold.deadLetterQueue)));
      const send = statementsOf(t, role(fanfold.coordinator)).find((s) =>
        actionsOf([s]).includes('sqs:SendMessage'),
      );
      expect(send?.Resource).toEqual(arn(logicalId(stack, fanfold.queue)));
      const dynamo = workerStatements.find((s) => actionsOf([s]).includes('dynamodb:PutItem'));
      expect(dynamo?.Resource).toEqual(arn(logicalId(stack, fanfold.table)));
      const objects = workerStatements.find((s) => actionsOf([s]).includes('s3:PutObject'));
      expect(objects?.Resource).toEqual({
        'Fn::Join': ['', [arn(logicalId(stack, fanfold.bucket)), '/fanfold/*']],
      });
      // Only the coordinator lists payloads: it deletes a released job's by prefix.
      const list = statementsOf(t, role(fanfold.coordinator)).find((s) =>
        actionsOf([s]).includes('s3:ListBucket'),
      );
      expect(list).toMatchObject({
        Resource: arn(logicalId(stack, fanfold.bucket)),
        Condition: { StringLike: { 's3:prefix': ['fanfold/*'] } },
      });
      expect(workerStatements.filter((s) => JSON.stringify(s.Condition ?? {}).includes('fanfold/*'))).toEqual(
        [],
      );
      const log = workerStatements.find((s) => actionsOf([s]).includes('logs:PutLogEvents'));
      expect(log?.Resource).toEqual(arn(logicalId(stack, fanfold.logGroups.worker)));
    });

    it('grantSubmit: the coordinator, the table, the payloads and the stack’s outputs, each its own', () => {
      const { stack, fanfold, template } = build();
      const user = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
      fanfold.grantSubmit(user);
      const statements = statementsOf(template(), logicalId(stack, user));
      const coordinator = arn(logicalId(stack, fanfold.coordinator));
      const invoke = statements.find((s) => actionsOf([s]).includes('lambda:InvokeFunction'));
      expect(invoke?.Resource).toEqual([coordinator, { 'Fn::Join': ['', [coordinator, ':*']] }]);
      const read = statements.find((s) => actionsOf([s]).includes('dynamodb:GetItem'));
      expect(read?.Resource).toEqual(arn(logicalId(stack, fanfold.table)));
      const objects = statements.find((s) => actionsOf([s]).includes('s3:GetObject'));
      expect(objects?.Resource).toEqual({
        'Fn::Join': ['', [arn(logicalId(stack, fanfold.bucket)), '/fanfold/*']],
      });
      const outputs = statements.find((s) => actionsOf([s]).includes('cloudformation:DescribeStacks'));
      expect(outputs?.Resource).toEqual({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':cloudformation:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':stack/Test/*',
          ],
        ],
      });
    });
  });

  describe('grantReadInputs()', () => {
    it("lets the coordinator and the worker read the given bucket's objects, and nothing else of it", () => {
      const { stack, fanfold, template } = build();
      const inputs = new Bucket(stack, 'Inputs');
      fanfold.grantReadInputs(inputs, 'exports/*');
      const t = template();
      const inputArn = arn(logicalId(stack, inputs));
      for (const fn of [fanfold.coordinator, fanfold.worker]) {
        const role = logicalId(stack, fn.role as unknown as { node: { defaultChild?: unknown } });
        const onInputs = statementsOf(t, role).filter((s) =>
          JSON.stringify(s.Resource).includes(logicalId(stack, inputs)),
        );
        // HeadObject and GetObject are both authorised by s3:GetObject; the reader sends nothing else.
        expect(onInputs).toEqual([
          {
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: { 'Fn::Join': ['', [inputArn, '/exports/*']] },
          },
        ]);
      }
      const dlqRole = logicalId(
        stack,
        fanfold.deadLetterFunction.role as unknown as { node: { defaultChild?: unknown } },
      );
      expect(JSON.stringify(statementsOf(t, dlqRole))).not.toContain(logicalId(stack, inputs));
    });

    it("adds kms:Decrypt on the bucket's key when it has one, and every object by default", () => {
      const { stack, fanfold, template } = build();
      const inputs = new Bucket(stack, 'Sealed', { encryption: BucketEncryption.KMS });
      fanfold.grantReadInputs(inputs);
      const t = template();
      const key = logicalId(stack, inputs.encryptionKey as unknown as { node: { defaultChild?: unknown } });
      for (const fn of [fanfold.coordinator, fanfold.worker]) {
        const role = logicalId(stack, fn.role as unknown as { node: { defaultChild?: unknown } });
        const statements = statementsOf(t, role);
        const objects = statements.filter((s) =>
          JSON.stringify(s.Resource).includes(logicalId(stack, inputs)),
        );
        expect(objects).toEqual([
          {
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: { 'Fn::Join': ['', [arn(logicalId(stack, inputs)), '/*']] },
          },
        ]);
        const onKey = statements.filter((s) => JSON.stringify(s.Resource).includes(key));
        expect(actionsOf(onKey)).toEqual(['kms:Decrypt']);
      }
    });
  });

  describe('outputs', () => {
    it('names the resources with stable output ids', () => {
      const { stack, fanfold, template } = build();
      const outputs = template().toJSON().Outputs as Record<string, { Value: unknown }>;
      expect(Object.keys(outputs).sort()).toEqual(Object.values(FANFOLD_OUTPUTS).sort());
      expect(outputs[FANFOLD_OUTPUTS.coordinator]?.Value).toEqual(ref(logicalId(stack, fanfold.coordinator)));
      expect(outputs[FANFOLD_OUTPUTS.table]?.Value).toEqual(ref(logicalId(stack, fanfold.table)));
      expect(outputs[FANFOLD_OUTPUTS.bucket]?.Value).toEqual(ref(logicalId(stack, fanfold.bucket)));
      expect(outputs[FANFOLD_OUTPUTS.queueUrl]?.Value).toEqual(ref(logicalId(stack, fanfold.queue)));
      expect(outputs[FANFOLD_OUTPUTS.deadLetterQueueUrl]?.Value).toEqual(
        ref(logicalId(stack, fanfold.deadLetterQueue)),
      );
      expect(outputs[FANFOLD_OUTPUTS.workers]?.Value).toBe('100');
    });

    it('gives the fingerprint of the tasks module it bundles, the same as the aws context makes of it', async () => {
      const { fanfold, template } = build();
      const outputs = template().toJSON().Outputs as Record<string, { Value: unknown }>;
      expect(fanfold.tasksFingerprint).toMatch(TASKS_FINGERPRINT_PATTERN);
      expect(outputs[FANFOLD_OUTPUTS.tasksFingerprint]?.Value).toBe(fanfold.tasksFingerprint);
      expect(await tasksFingerprint(pathToFileURL(TASKS))).toBe(fanfold.tasksFingerprint);
      // Another tasks module, another fingerprint.
      const other = fileURLToPath(new URL('../fixtures/process-tasks.ts', import.meta.url));
      expect(build({ tasks: other }).fanfold.tasksFingerprint).not.toBe(fanfold.tasksFingerprint);
    });

    it('refuses a tasks module that does not build, naming props.tasks', () => {
      const dir = mkdtempSync(join(tmpdir(), 'fanfold-broken-tasks-'));
      try {
        const broken = join(dir, 'tasks.ts');
        writeFileSync(broken, "import missing from './nowhere.js';\nexport default missing;\n");
        expect(() => build({ tasks: broken })).toThrow(/props\.tasks: esbuild could not bundle/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('refuses a second Fanfold in the same stack', () => {
      const { stack } = build();
      expect(() => new Fanfold(stack, 'Again', { tasks: TASKS })).toThrow(InvalidArgumentError);
    });
  });

  describe('the coordinator’s fan-out', () => {
    it('takes its leaf, budget and drain workers from props (drain workers: the worker’s concurrency)', () => {
      const env = (props: Partial<FanfoldProps>) => {
        const { stack, fanfold, template } = build(props);
        const fn = template().findResources('AWS::Lambda::Function')[logicalId(stack, fanfold.coordinator)];
        return (fn as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties
          .Environment.Variables;
      };
      expect(env({ worker: { maxConcurrency: 300 } })).toMatchObject({
        FANFOLD_LEAF_CHUNKS: '20000',
        FANFOLD_WORKER_BURST: '300',
      });
      const set = env({
        coordinator: { leafChunks: 500, fanoutBudget: Duration.millis(250), drainWorkers: 0 },
      });
      expect(set).toMatchObject({
        FANFOLD_LEAF_CHUNKS: '500',
        FANFOLD_FANOUT_BUDGET_MS: '250',
        FANFOLD_WORKER_BURST: '0',
      });
      expect(env({})).not.toHaveProperty('FANFOLD_FANOUT_BUDGET_MS');
    });

    it('retries a failed fan-out twice, then sends its record to the dead-letter queue', () => {
      const { stack, fanfold, template } = build();
      template().hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: ref(logicalId(stack, fanfold.coordinator)),
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 21_600,
        DestinationConfig: { OnFailure: { Destination: arn(logicalId(stack, fanfold.deadLetterQueue)) } },
      });
      template().resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    });

    it('lets the coordinator invoke itself and the worker, and send to the dead-letter queue, nothing more', () => {
      const { stack, fanfold, template } = build();
      const statements = statementsOf(template(), logicalId(stack, fanfold.coordinator.role as iam.Role));
      const invoke = statements.filter((s) => actionsOf([s]).includes('lambda:InvokeFunction'));
      expect(invoke).toHaveLength(1);
      expect(actionsOf(invoke)).toEqual(['lambda:InvokeFunction']);
      expect(invoke[0]?.Resource).toEqual([
        arn(logicalId(stack, fanfold.coordinator)),
        arn(logicalId(stack, fanfold.worker)),
      ]);
      const sends = statements.filter((s) => actionsOf([s]).includes('sqs:SendMessage'));
      expect(sends.map((s) => s.Resource)).toEqual([
        arn(logicalId(stack, fanfold.queue)),
        arn(logicalId(stack, fanfold.deadLetterQueue)),
      ]);
      for (const s of sends) expect(actionsOf([s])).toEqual(['sqs:SendMessage']);
    });

    it('refuses a leaf of 0 chunks, a budget past the timeout and negative drain workers, in one error', () => {
      let error: unknown;
      try {
        build({
          coordinator: {
            timeout: Duration.seconds(30),
            leafChunks: 0,
            fanoutBudget: Duration.seconds(31),
            drainWorkers: -1,
          },
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      const message = (error as Error).message;
      expect(message).toContain('3 problems');
      expect(message).toContain('props.coordinator.leafChunks');
      expect(message).toContain('props.coordinator.fanoutBudget');
      expect(message).toContain('props.coordinator.drainWorkers');
    });
  });

  describe('props', () => {
    const error = (props: Partial<FanfoldProps>): InvalidArgumentError => {
      try {
        build(props);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidArgumentError);
        return e as InvalidArgumentError;
      }
      throw new Error('expected the props to be refused');
    };

    it('reports every bad prop in one error', () => {
      const e = error({ maxReceiveCount: 0, worker: { memorySize: 64 } });
      expect(e.code).toBe(ErrorCodes.INVALID_ARGUMENT);
      expect(e.message).toContain('2 problems');
      expect(e.message).toContain('props.maxReceiveCount');
      expect(e.message).toContain('props.worker.memorySize');
    });

    it('refuses maxConcurrency together with provisionedPollerConfig', () => {
      const e = error({ worker: { maxConcurrency: 10, provisionedPollerConfig: { minimumPollers: 2 } } });
      expect(e.message).toMatch(/maxConcurrency and props\.worker\.provisionedPollerConfig/);
    });

    it.each<[string, Partial<FanfoldProps>, string]>([
      ['a missing tasks module', { tasks: '/nonexistent/tasks.ts' }, 'props.tasks'],
      ['another runtime', { runtime: Runtime.NODEJS_20_X }, 'props.runtime'],
      [
        'a fractional timeout',
        { coordinator: { timeout: Duration.millis(1500) } },
        'props.coordinator.timeout',
      ],
      ['a timeout over 15 minutes', { worker: { timeout: Duration.minutes(16) } }, 'props.worker.timeout'],
      ['a concurrency under 2', { worker: { maxConcurrency: 1 } }, 'props.worker.maxConcurrency'],
      ['a batch over 10 without a window', { worker: { batchSize: 11 } }, 'props.worker.batchSize'],
      [
        'a window over 5 minutes',
        { worker: { maxBatchingWindow: Duration.minutes(6) } },
        'maxBatchingWindow',
      ],
      [
        'minimum pollers over maximum',
        { worker: { provisionedPollerConfig: { minimumPollers: 30, maximumPollers: 20 } } },
        'minimumPollers',
      ],
      ['a payload expiry under a day', { payloadExpiration: Duration.hours(3) }, 'props.payloadExpiration'],
      [
        'a message visibility under 5 seconds',
        { worker: { messageVisibility: Duration.seconds(2) } },
        'props.worker.messageVisibility',
      ],
      [
        'a hand-back margin as long as the timeout',
        { worker: { timeout: Duration.seconds(30), handBackMargin: Duration.seconds(30) } },
        'props.worker.handBackMargin to be less than props.worker.timeout (30 s)',
      ],
      [
        'a reserved concurrency below the mapping’s',
        { worker: { reservedConcurrency: 10, maxConcurrency: 20 } },
        'props.worker.reservedConcurrency (10) is below props.worker.maxConcurrency (20)',
      ],
      ['an unknown prop', { workerMemory: 1024 } as Partial<FanfoldProps>, 'props.workerMemory'],
      [
        'a log level of another name',
        { logLevel: 'VERBOSE' } as unknown as Partial<FanfoldProps>,
        `Expected props.logLevel to be one of 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT', got "VERBOSE"`,
      ],
      ['a namespace under AWS/', { metricsNamespace: 'AWS/Lambda' }, 'props.metricsNamespace'],
      ['an empty service name', { serviceName: ' ' }, 'props.serviceName'],
    ])('refuses %s', (_name, props, named) => {
      expect(error(props).message).toContain(named);
    });
  });

  describe('bundling', () => {
    // One synth with bundling (esbuild, four functions: the slowest step of this file) serves
    // both tests; each reads its own part of the same cloud assembly. It runs in a child process
    // (`cdk synth` of fixtures/bundled-app.ts): in this worker, a synchronous synth would block the
    // event loop that answers vitest, for over a minute on a busy machine.
    type Resources = Record<string, { Type: string; Metadata?: Record<string, string> }>;
    let outdir: string | undefined;
    let template: { Resources: Resources };
    beforeAll(async () => {
      outdir = mkdtempSync(join(tmpdir(), 'fanfold-cdk-'));
      await synthInto(outdir, { app: `node --import tsx ${BUNDLED_APP}`, label: 'the bundled stack' });
      template = JSON.parse(readFileSync(join(outdir, 'Bundled.template.json'), 'utf8')) as {
        Resources: Resources;
      };
    }, SYNTH_TIMEOUT_MS);
    afterAll(() => {
      if (outdir) rmSync(outdir, { recursive: true, force: true });
    });

    it('bundles each function locally as ESM with the tasks module aliased in', () => {
      const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
      expect(functions).toHaveLength(4);
      const code = functions.map((f) => {
        const dir = join(outdir!, f.Metadata?.['aws:asset:path'] ?? 'missing');
        expect(readFileSync(join(dir, 'index.mjs.map'), 'utf8')).toContain('"mappings"');
        return readFileSync(join(dir, 'index.mjs'), 'utf8');
      });
      for (const c of code) {
        expect(c.startsWith("import { createRequire as __fanfoldCreateRequire } from 'node:module';")).toBe(
          true,
        );
        expect(c).toMatch(/export\s*\{[^}]*\bhandler\b/);
        expect(c).not.toContain('@fanfold/tasks"');
        // The AWS SDK is bundled (worker threads load this file too), and esbuild is not.
        expect(c).not.toMatch(/from "@aws-sdk\//);
        expect(c).not.toMatch(/from "esbuild"|import\("esbuild"\)/);
      }
      // The coordinator and the worker carry the tasks; the dead-letter function and the sweeper have no need of them.
      expect(code.filter((c) => c.includes('fanfoldInfraProbe'))).toHaveLength(2);
    });

    it("bundles none of the local context's modules into the worker", () => {
      // The function's logical id is the construct's path: Fanfold/Worker.
      const worker = Object.entries(template.Resources).find(
        ([id, r]) => r.Type === 'AWS::Lambda::Function' && /^FanfoldWorker[0-9A-F]{8}$/.test(id),
      )?.[1];
      const dir = join(outdir!, worker?.Metadata?.['aws:asset:path'] ?? 'missing');
      // The source map names every module whose code the bundle carries.
      const { sources } = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as {
        sources: string[];
      };
      const ours = sources.filter((s) => !s.includes('node_modules/'));
      expect(ours.some((s) => s.endsWith('src/threads/serve-tasks.ts'))).toBe(true);
      expect(ours.filter((s) => s.includes('src/local/'))).toEqual([]);
      // Powertools' Logger and Metrics are bundled in (dependencies of fanfold, resolved from functions/).
      for (const pkg of ['logger', 'metrics', 'commons'])
        expect(sources.some((s) => s.includes(`node_modules/@aws-lambda-powertools/${pkg}/`))).toBe(true);
    });
  });
});
