/**
 * Stands up a stack's resources the way CloudFormation would, on the emulators: SQS queues (with
 * their RedrivePolicy and VisibilityTimeout), DynamoDB tables (keys, indexes, TTL) and S3 buckets
 * are created in moto, in dependency order, with CloudFormation-style generated names where the
 * template gives none. Lambda functions, event source mappings and asynchronous invocation
 * settings are resolved into plain specs for the sandbox, the pollers and the Invoke API. Every other resource type (IAM, CDK metadata, custom
 * resources, log groups, policies) is not created; its `Ref` and `Arn` resolve to made-up values
 * so that references to it still work, and it is listed in `unmodelled`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type EventInvokeConfigSpec, resolveInvokeConfig } from './invoke-config.js';
import {
  type ResolveContext,
  referencedIds,
  resolveString,
  resolveValue,
  type StackAssembly,
} from './template.js';

/** moto's default account. */
export const ACCOUNT_ID = '123456789012';

/** A resource after deployment: what `Ref` and `Fn::GetAtt` return for it. */
export interface DeployedResource {
  readonly logicalId: string;
  readonly type: string;
  /** The value of `Ref` (a queue's URL, a table's or bucket's or function's name, …). */
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** A Lambda function of the stack, resolved. */
export interface FunctionSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** The bundled code's folder, or undefined when the assembly does not have it. */
  readonly codeDir: string | undefined;
  /** `file.export`, e.g. `index.handler`. */
  readonly handler: string;
  readonly runtime: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly reservedConcurrency: number | undefined;
}

/** An SQS event source mapping of the stack, resolved. */
export interface EventSourceMappingSpec {
  readonly logicalId: string;
  readonly uuid: string;
  readonly functionName: string;
  readonly queueArn: string;
  readonly queueUrl: string;
  readonly queueVisibilityTimeoutSeconds: number;
  readonly fifo: boolean;
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  readonly reportBatchItemFailures: boolean;
  /** ScalingConfig.MaximumConcurrency, if set. */
  readonly maximumConcurrency: number | undefined;
  readonly enabled: boolean;
}

/** The stack, deployed. */
export interface DeployedStack {
  readonly stackName: string;
  readonly region: string;
  readonly accountId: string;
  readonly resources: Readonly<Record<string, DeployedResource>>;
  /** Output name → resolved value. */
  readonly outputs: Readonly<Record<string, string>>;
  readonly functions: readonly FunctionSpec[];
  readonly eventSourceMappings: readonly EventSourceMappingSpec[];
  /** The functions' asynchronous invocation settings (retries, event age, destinations). */
  readonly eventInvokeConfigs: readonly EventInvokeConfigSpec[];
  /** Logical ids of resources that were not created (only their names are made up). */
  readonly unmodelled: readonly string[];
}

/** The emulator clients the deployment uses. */
export interface DeployClients {
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
}

/** The resource types created in the emulators, or resolved for the sandbox. */
const MODELLED = new Set([
  'AWS::SQS::Queue',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::S3::Bucket',
  'AWS::Lambda::Function',
  'AWS::Lambda::EventSourceMapping',
  'AWS::Lambda::EventInvokeConfig',
]);

/**
 * Creates the stack's queues, tables and buckets in the emulators and resolves its functions,
 * event source mappings and outputs. Fails, as CloudFormation would, on an event source mapping
 * whose queue's visibility timeout is shorter than the function's timeout.
 */
export async function deployStack(
  assembly: StackAssembly,
  clients: DeployClients,
  region: string,
): Promise<DeployedStack> {
  const { template, stackName } = assembly;
  const deployed = new Map<string, DeployedResource>();
  const conditions = new Map<string, boolean>();
  const ctx: ResolveContext = {
    region,
    accountId: ACCOUNT_ID,
    stackName,
    ref(id) {
      const resource = deployed.get(id);
      if (resource) return resource.ref;
      const parameter = template.Parameters?.[id];
      if (parameter) return String(parameter.Default ?? '');
      throw new Error(`Ref ${id}: no such resource or parameter (or it is not created yet)`);
    },
    getAtt(id, attribute) {
      const resource = deployed.get(id);
      if (!resource) throw new Error(`Fn::GetAtt ${id}.${attribute}: no such resource`);
      const value = resource.attributes[attribute];
      if (value === undefined)
        throw new Error(
          `Fn::GetAtt ${id}.${attribute}: the runner knows no ${attribute} of a ${resource.type}`,
        );
      return value;
    },
    condition(name) {
      let value = conditions.get(name);
      if (value === undefined) {
        const definition = template.Conditions?.[name];
        if (definition === undefined) throw new Error(`no condition ${name}`);
        value = resolveValue(definition, ctx) === true;
        conditions.set(name, value);
      }
      return value;
    },
  };

  const ids = Object.keys(template.Resources).filter((id) => {
    const condition = template.Resources[id]?.Condition;
    return condition === undefined || ctx.condition(condition);
  });
  const functions: FunctionSpec[] = [];
  const mappings: EventSourceMappingSpec[] = [];
  const invokeConfigs: EventInvokeConfigSpec[] = [];
  const unmodelled: string[] = [];
  const queueInfo = new Map<string, { url: string; visibility: number; fifo: boolean }>();

  for (const wave of dependencyWaves(ids, assembly)) {
    await Promise.all(
      wave.map(async (id) => {
        const resource = template.Resources[id]!;
        const props = (resolveValue(resource.Properties ?? {}, ctx) ?? {}) as Record<string, unknown>;
        const name = (explicit: unknown, options: NameOptions = {}): string =>
          typeof explicit === 'string' ? explicit : physicalName(stackName, id, options);
        switch (resource.Type) {
          case 'AWS::SQS::Queue': {
            const fifo = props.FifoQueue === true || props.FifoQueue === 'true';
            const queueName = name(props.QueueName, { max: 80, suffix: fifo ? '.fifo' : '' });
            const { url, arn, visibility } = await createQueue(clients.sqs, queueName, props);
            queueInfo.set(arn, { url, visibility, fifo });
            deployed.set(id, {
              logicalId: id,
              type: resource.Type,
              ref: url,
              attributes: { Arn: arn, QueueName: queueName, QueueUrl: url },
            });
            return;
          }
          case 'AWS::DynamoDB::Table':
          case 'AWS::DynamoDB::GlobalTable': {
            const tableName = name(props.TableName, { max: 255 });
            const arn = `arn:aws:dynamodb:${region}:${ACCOUNT_ID}:table/${tableName}`;
            await createTable(clients.dynamo, tableName, props);
            deployed.set(id, {
              logicalId: id,
              type: resource.Type,
              ref: tableName,
              attributes: {
                Arn: arn,
                StreamArn: `${arn}/stream/1970-01-01T00:00:00.000`,
                TableId: tableName,
              },
            });
            return;
          }
          case 'AWS::S3::Bucket': {
            const bucket = name(props.BucketName, { max: 63, lower: true });
            await createBucket(clients.s3, bucket, props);
            deployed.set(id, {
              logicalId: id,
              type: resource.Type,
              ref: bucket,
              attributes: {
                Arn: `arn:aws:s3:::${bucket}`,
                DomainName: `${bucket}.s3.amazonaws.com`,
                RegionalDomainName: `${bucket}.s3.${region}.amazonaws.com`,
                DualStackDomainName: `${bucket}.s3.dualstack.${region}.amazonaws.com`,
                WebsiteURL: `http://${bucket}.s3-website-${region}.amazonaws.com`,
              },
            });
            return;
          }
          case 'AWS::Lambda::Function': {
            const fn = resolveFunction(id, props, name(props.FunctionName, { max: 64 }), assembly, region);
            functions.push(fn);
            deployed.set(id, {
              logicalId: id,
              type: resource.Type,
              ref: fn.name,
              attributes: { Arn: fn.arn },
            });
            return;
          }
          case 'AWS::Lambda::EventInvokeConfig': {
            // Its destination queue is deployed first: the template references it.
            invokeConfigs.push(resolveInvokeConfig(id, props, ctx, queueInfo));
            deployed.set(id, { logicalId: id, type: resource.Type, ref: randomUUID(), attributes: {} });
            return;
          }
          case 'AWS::Lambda::EventSourceMapping': {
            const uuid = randomUUID();
            mappings.push(resolveMapping(id, uuid, props, ctx, queueInfo));
            deployed.set(id, { logicalId: id, type: resource.Type, ref: uuid, attributes: { Id: uuid } });
            return;
          }
          default: {
            // Not created: a made-up physical id and ARN keep references to it resolvable.
            if (!MODELLED.has(resource.Type)) unmodelled.push(id);
            const physical = name(undefined, { max: 64 });
            const service = resource.Type.split('::')[1]?.toLowerCase() ?? 'unknown';
            const arn =
              resource.Type === 'AWS::IAM::Role'
                ? `arn:aws:iam::${ACCOUNT_ID}:role/${physical}`
                : `arn:aws:${service}:${region}:${ACCOUNT_ID}:${physical}`;
            deployed.set(id, { logicalId: id, type: resource.Type, ref: physical, attributes: { Arn: arn } });
          }
        }
      }),
    );
  }

  for (const mapping of mappings) {
    const fn = functions.find((f) => f.name === mapping.functionName || f.arn === mapping.functionName);
    if (!fn) throw new Error(`${mapping.logicalId}: no function ${mapping.functionName} in the stack`);
    // CreateEventSourceMapping's own check (InvalidParameterValueException).
    if (mapping.queueVisibilityTimeoutSeconds < fn.timeoutSeconds)
      throw new Error(
        `${mapping.logicalId}: Queue visibility timeout: ${mapping.queueVisibilityTimeoutSeconds} seconds is less than Function timeout: ${fn.timeoutSeconds} seconds`,
      );
  }

  const outputs: Record<string, string> = {};
  for (const [key, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Condition !== undefined && !ctx.condition(output.Condition)) continue;
    outputs[key] = resolveString(output.Value, ctx, `output ${key}`);
  }
  return {
    stackName,
    region,
    accountId: ACCOUNT_ID,
    resources: Object.fromEntries(deployed),
    outputs,
    functions,
    eventSourceMappings: mappings,
    eventInvokeConfigs: invokeConfigs,
    unmodelled,
  };
}

/** Groups `ids` into waves whose members depend only on earlier waves. */
function dependencyWaves(ids: readonly string[], assembly: StackAssembly): string[][] {
  const present = new Set(ids);
  const deps = new Map<string, Set<string>>();
  for (const id of ids) {
    const resource = assembly.template.Resources[id]!;
    const refs = referencedIds(resource.Properties ?? {});
    const dependsOn = resource.DependsOn;
    for (const d of typeof dependsOn === 'string' ? [dependsOn] : (dependsOn ?? [])) refs.add(d);
    deps.set(id, new Set([...refs].filter((r) => present.has(r) && r !== id)));
  }
  const waves: string[][] = [];
  const done = new Set<string>();
  while (done.size < ids.length) {
    const wave = ids.filter((id) => !done.has(id) && [...deps.get(id)!].every((d) => done.has(d)));
    if (wave.length === 0)
      throw new Error(`circular references among ${ids.filter((id) => !done.has(id)).join(', ')}`);
    for (const id of wave) done.add(id);
    waves.push(wave);
  }
  return waves;
}

interface NameOptions {
  readonly max?: number;
  readonly lower?: boolean;
  readonly suffix?: string;
}

/** A name in CloudFormation's style, `<stack>-<logicalId>-<random>`, within the service's limits. */
function physicalName(stackName: string, logicalId: string, options: NameOptions): string {
  const { max = 64, lower = false, suffix = '' } = options;
  const random = randomBytes(6).toString('hex').toUpperCase();
  let base = `${stackName}-${logicalId}`;
  if (lower) base = base.toLowerCase().replace(/[^a-z0-9-]/g, '');
  const room = max - random.length - suffix.length - 1;
  const name = `${base.slice(0, room)}-${lower ? random.toLowerCase() : random}${suffix}`;
  return name;
}

const QUEUE_ATTRIBUTES = [
  'VisibilityTimeout',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'MaximumMessageSize',
  'ReceiveMessageWaitTimeSeconds',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
] as const;

async function createQueue(
  sqs: SQSClient,
  queueName: string,
  props: Record<string, unknown>,
): Promise<{ url: string; arn: string; visibility: number }> {
  const attributes: Record<string, string> = {};
  for (const key of QUEUE_ATTRIBUTES) if (props[key] !== undefined) attributes[key] = String(props[key]);
  // The CloudFormation property is an object; the SQS attribute is its JSON.
  if (props.RedrivePolicy !== undefined) attributes.RedrivePolicy = JSON.stringify(props.RedrivePolicy);
  if (props.RedriveAllowPolicy !== undefined)
    attributes.RedriveAllowPolicy = JSON.stringify(props.RedriveAllowPolicy);
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }),
  );
  if (!QueueUrl) throw new Error(`SQS returned no URL for ${queueName}`);
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn', 'VisibilityTimeout'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`SQS returned no ARN for ${queueName}`);
  return { url: QueueUrl, arn, visibility: Number(Attributes?.VisibilityTimeout ?? 30) };
}

async function createTable(dynamo: DynamoDBClient, tableName: string, props: Record<string, unknown>) {
  const billing = props.BillingMode ?? (props.ProvisionedThroughput ? 'PROVISIONED' : 'PAY_PER_REQUEST');
  // GlobalTable puts throughput and streams elsewhere; the emulator needs none of that.
  const stream = props.StreamSpecification as { StreamViewType?: string } | undefined;
  const input: CreateTableCommandInput = {
    TableName: tableName,
    AttributeDefinitions: props.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    KeySchema: props.KeySchema as CreateTableCommandInput['KeySchema'],
    BillingMode: billing as CreateTableCommandInput['BillingMode'],
    ...(billing === 'PROVISIONED'
      ? {
          ProvisionedThroughput:
            (props.ProvisionedThroughput as CreateTableCommandInput['ProvisionedThroughput']) ?? {
              ReadCapacityUnits: 5,
              WriteCapacityUnits: 5,
            },
        }
      : {}),
    ...(props.GlobalSecondaryIndexes
      ? {
          GlobalSecondaryIndexes:
            props.GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'],
        }
      : {}),
    ...(props.LocalSecondaryIndexes
      ? {
          LocalSecondaryIndexes:
            props.LocalSecondaryIndexes as CreateTableCommandInput['LocalSecondaryIndexes'],
        }
      : {}),
    ...(stream?.StreamViewType
      ? { StreamSpecification: { StreamEnabled: true, StreamViewType: stream.StreamViewType as never } }
      : {}),
  };
  await dynamo.send(new CreateTableCommand(input));
  const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  if (ttl?.AttributeName && ttl.Enabled !== false)
    await dynamo.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
      }),
    );
}

async function createBucket(s3: S3Client, bucket: string, props: Record<string, unknown>) {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const lifecycle = props.LifecycleConfiguration as { Rules?: Record<string, unknown>[] } | undefined;
  if (!lifecycle?.Rules?.length) return;
  // CloudFormation's rule shape, translated to the API's for the rules fanfold's stack uses.
  const Rules = lifecycle.Rules.map((rule, i) => ({
    ID: String(rule.Id ?? `rule-${i}`),
    Status: (rule.Status ?? 'Enabled') as 'Enabled' | 'Disabled',
    Filter: { Prefix: String(rule.Prefix ?? '') },
    ...(rule.ExpirationInDays !== undefined ? { Expiration: { Days: Number(rule.ExpirationInDays) } } : {}),
    ...(rule.AbortIncompleteMultipartUpload
      ? {
          AbortIncompleteMultipartUpload: {
            DaysAfterInitiation: Number(
              (rule.AbortIncompleteMultipartUpload as { DaysAfterInitiation?: number }).DaysAfterInitiation,
            ),
          },
        }
      : {}),
  }));
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules } }),
  );
}

/**
 * Variables Lambda sets itself, which CreateFunction refuses in a function's configuration; and,
 * for the runner, the endpoint variables that point the functions at the emulators.
 */
const RESERVED_VARIABLES = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);

function resolveFunction(
  id: string,
  props: Record<string, unknown>,
  name: string,
  assembly: StackAssembly,
  region: string,
): FunctionSpec {
  const variables = ((props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
    {}) as Record<string, unknown>;
  const reserved = Object.keys(variables).filter(
    (k) => RESERVED_VARIABLES.has(k) || k.startsWith('AWS_ENDPOINT_URL'),
  );
  if (reserved.length > 0)
    throw new Error(`${id}: Lambda reserves the environment variables ${reserved.join(', ')}`);
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries(variables))
    environment[k] =
      typeof v === 'string'
        ? v
        : typeof v === 'number' || typeof v === 'boolean'
          ? String(v)
          : JSON.stringify(v);
  const concurrency = props.ReservedConcurrentExecutions;
  return {
    logicalId: id,
    name,
    arn: `arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${name}`,
    codeDir: assembly.codeDir(id),
    handler: String(props.Handler ?? 'index.handler'),
    runtime: String(props.Runtime ?? 'nodejs20.x'),
    memoryMb: Number(props.MemorySize ?? 128),
    timeoutSeconds: Number(props.Timeout ?? 3),
    environment,
    reservedConcurrency: concurrency === undefined ? undefined : Number(concurrency),
  };
}

function resolveMapping(
  id: string,
  uuid: string,
  props: Record<string, unknown>,
  ctx: ResolveContext,
  queues: ReadonlyMap<string, { url: string; visibility: number; fifo: boolean }>,
): EventSourceMappingSpec {
  const queueArn = String(props.EventSourceArn ?? '');
  const queue = queues.get(queueArn);
  if (!queue) throw new Error(`${id}: the runner maps only SQS queues of the stack, not ${queueArn}`);
  const batchSize = Number(props.BatchSize ?? 10);
  const window = Number(props.MaximumBatchingWindowInSeconds ?? 0);
  const scaling = props.ScalingConfig as { MaximumConcurrency?: unknown } | undefined;
  const maximumConcurrency =
    scaling?.MaximumConcurrency === undefined ? undefined : Number(scaling.MaximumConcurrency);
  const problems: string[] = [];
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > (queue.fifo ? 10 : 10_000))
    problems.push(`BatchSize ${batchSize} is out of range`);
  if (batchSize > 10 && window < 1)
    problems.push('a BatchSize over 10 needs MaximumBatchingWindowInSeconds >= 1');
  if (!(window >= 0 && window <= 300))
    problems.push(`MaximumBatchingWindowInSeconds ${window} is out of 0..300`);
  if (queue.fifo && window > 0) problems.push('FIFO queues take no batching window');
  if (maximumConcurrency !== undefined && !(maximumConcurrency >= 2 && maximumConcurrency <= 1000))
    problems.push(`ScalingConfig.MaximumConcurrency ${maximumConcurrency} is out of 2..1000`);
  if (props.FilterCriteria !== undefined) problems.push('FilterCriteria is not modelled by the runner');
  if (problems.length > 0) throw new Error(`${id}: ${problems.join('; ')}`);
  const types = (props.FunctionResponseTypes ?? []) as unknown[];
  return {
    logicalId: id,
    uuid,
    functionName: resolveString(props.FunctionName, ctx, `${id}.FunctionName`),
    queueArn,
    queueUrl: queue.url,
    queueVisibilityTimeoutSeconds: queue.visibility,
    fifo: queue.fifo,
    batchSize,
    maximumBatchingWindowSeconds: window,
    reportBatchItemFailures: types.includes('ReportBatchItemFailures'),
    maximumConcurrency,
    enabled: props.Enabled !== false && props.Enabled !== 'false',
  };
}
