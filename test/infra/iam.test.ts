/**
 * Each role holds exactly the actions its code sends. "What the code sends" is derived from the
 * code (sdk-calls.ts: the SDK commands reachable from each function's handler, from a `Pool` and
 * a `Process`, from the primitives), "what the role holds" from the synthesised template; a new
 * SDK call without its permission, or a permission that no code needs any more, fails here.
 */
import { fileURLToPath } from 'node:url';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { Fanfold } from '../../infra/fanfold.js';
import { apiSurface, loadProgram } from './program.js';
import { type SdkCommand, sdkCommandsFrom } from './sdk-calls.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TASKS = fileURLToPath(new URL('./fixtures/tasks.ts', import.meta.url));
const INDEX = `${ROOT}src/index.ts`;
const fn = (name: string) => `${ROOT}functions/${name}.ts`;

/** The IAM action each SDK command needs (a transaction's come from its items). */
const ACTION_OF: Record<string, string> = {
  'dynamodb:BatchGetItem': 'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem': 'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem': 'dynamodb:DeleteItem',
  'dynamodb:GetItem': 'dynamodb:GetItem',
  'dynamodb:PutItem': 'dynamodb:PutItem',
  'dynamodb:Query': 'dynamodb:Query',
  'dynamodb:Scan': 'dynamodb:Scan',
  'dynamodb:UpdateItem': 'dynamodb:UpdateItem',
  'TransactWriteItems:ConditionCheck': 'dynamodb:ConditionCheckItem',
  'TransactWriteItems:Delete': 'dynamodb:DeleteItem',
  'TransactWriteItems:Put': 'dynamodb:PutItem',
  'TransactWriteItems:Update': 'dynamodb:UpdateItem',
  'sqs:ChangeMessageVisibility': 'sqs:ChangeMessageVisibility',
  'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
  'sqs:CreateQueue': 'sqs:CreateQueue',
  'sqs:DeleteMessage': 'sqs:DeleteMessage',
  'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
  'sqs:DeleteQueue': 'sqs:DeleteQueue',
  'sqs:GetQueueAttributes': 'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl': 'sqs:GetQueueUrl',
  'sqs:ListQueues': 'sqs:ListQueues',
  'sqs:ReceiveMessage': 'sqs:ReceiveMessage',
  'sqs:SendMessage': 'sqs:SendMessage',
  'sqs:SendMessageBatch': 'sqs:SendMessage',
  's3:DeleteObject': 's3:DeleteObject',
  's3:DeleteObjects': 's3:DeleteObject',
  's3:GetObject': 's3:GetObject',
  's3:HeadObject': 's3:GetObject',
  's3:ListObjectsV2': 's3:ListBucket',
  's3:PutObject': 's3:PutObject',
  'lambda:Invoke': 'lambda:InvokeFunction',
  'cloudformation:DescribeStacks': 'cloudformation:DescribeStacks',
};

/**
 * What Lambda's SQS poller does with a function's role on its event source's queue (CDK grants it
 * with the mapping): not the code's, and only on that queue.
 */
const ESM_POLLER = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];
/** What the Lambda runtime writes with the role: the function's own log group. */
const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

/** The IAM actions a set of SDK commands needs, sorted. */
function iamActions(commands: Map<SdkCommand, string[]>): string[] {
  const out = new Set<string>();
  for (const [command, path] of commands) {
    if (command === 'dynamodb:TransactWriteItems') continue;
    if (command.startsWith('TransactWriteItems:') && !commands.has('dynamodb:TransactWriteItems')) continue;
    const action = ACTION_OF[command];
    if (!action)
      throw new Error(`no IAM action known for ${command} (${path.join(' > ')}): add it to ACTION_OF`);
    out.add(action);
  }
  return [...out].sort();
}

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
const actionsOf = (statements: Statement[]) =>
  [...new Set(statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])))].sort();
const union = (...lists: string[][]) => [...new Set(lists.flat())].sort();
const mentions = (s: Statement, id: string) => JSON.stringify(s.Resource).includes(`"${id}"`);

let program: ts.Program;
let primitiveRoots: ts.Node[];
let template: Template;
let stack: Stack;
let fanfold: Fanfold;
let submitter: iam.Role;
let primitivesUser: iam.Role;
let operator: iam.Role;

beforeAll(() => {
  program = loadProgram(ROOT, [fn('coordinator'), fn('worker'), fn('dlq'), fn('sweeper'), INDEX]);
  // A task may call any method of any primitive it receives (a Manager's dicts and lists too).
  primitiveRoots = apiSurface(program, INDEX, 'Primitives');
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new Stack(app, 'Test');
  fanfold = new Fanfold(stack, 'Fanfold', { tasks: TASKS });
  submitter = new iam.Role(stack, 'Submitter', { assumedBy: new iam.AccountRootPrincipal() });
  fanfold.grantSubmit(submitter);
  primitivesUser = new iam.Role(stack, 'PrimitivesUser', { assumedBy: new iam.AccountRootPrincipal() });
  fanfold.grantPrimitives(primitivesUser);
  operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
  fanfold.grantOperate(operator);
  template = Template.fromStack(stack);
}, 120_000);

const logicalId = (c: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(c.node.defaultChild as CfnElement);

/** Every statement of the inline policies attached to `role`. */
function statementsOf(role: iam.IRole): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: logicalId(role as iam.Role) }]) },
  });
  return Object.values(policies).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
        .Statement,
  );
}

describe('IAM: each role holds exactly the actions its code sends', () => {
  const functions = [
    { name: 'coordinator', of: () => fanfold.coordinator, source: undefined, tasks: false },
    { name: 'worker', of: () => fanfold.worker, source: () => fanfold.queue, tasks: true },
    {
      name: 'dlq',
      of: () => fanfold.deadLetterFunction,
      source: () => fanfold.deadLetterQueue,
      tasks: false,
    },
    { name: 'sweeper', of: () => fanfold.sweeper, source: undefined, tasks: false },
  ];

  it.each(functions)('the $name function', ({ name, of, source, tasks }) => {
    const code = iamActions(
      sdkCommandsFrom(program, fn(name), ['handler'], { roots: tasks ? primitiveRoots : [] }),
    );
    const statements = statementsOf(of().role as iam.IRole);
    const logs = statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('logs:')));
    expect(actionsOf(logs)).toEqual(LOGS);
    for (const s of logs) expect(mentions(s, logicalId(fanfold.logGroups[logGroupOf(name)]))).toBe(true);
    const rest = statements.filter((s) => !logs.includes(s));
    if (!source) {
      expect(actionsOf(rest)).toEqual(code);
      return;
    }
    // The poller's statements are on the event source's queue only; every other action is the code's.
    const queueId = logicalId(source());
    const poller = rest.filter((s) => mentions(s, queueId));
    expect(actionsOf(poller)).toEqual(ESM_POLLER);
    expect(actionsOf(rest)).toEqual(union(code, ESM_POLLER));
  });

  it('the worker reads and writes payloads only, and sync/ items as its tasks’ primitives do', () => {
    // The host alone: the graph cut where the primitives begin.
    const host = iamActions(
      sdkCommandsFrom(program, fn('worker'), ['handler'], { cut: /\/src\/aws\/sync\// }),
    );
    const statements = statementsOf(fanfold.worker.role as iam.IRole);
    const payloads = statements.filter((s) => JSON.stringify(s.Resource).includes('/fanfold/*'));
    expect(actionsOf(payloads)).toEqual(host.filter((a) => a.startsWith('s3:')));
    const sync = statements.filter((s) => JSON.stringify(s).includes('sync/*'));
    expect(actionsOf(sync)).toEqual(primitivesActions().filter((a) => a.startsWith('s3:')));
  });

  it('grantSubmit: what a Pool and a Process of aws({ tasks, stack }) send, and nothing else', () => {
    const roots = apiSurface(program, INDEX, 'AwsContext', ['Pool', 'Process']);
    const code = iamActions(sdkCommandsFrom(program, `${ROOT}src/aws/context.ts`, ['aws'], { roots }));
    expect(code).toContain('cloudformation:DescribeStacks');
    const statements = statementsOf(submitter);
    expect(actionsOf(statements)).toEqual(code);
    // No listing: a submitter reads the jobs whose ids it holds, and no other's by listing them.
    expect(actionsOf(statements)).not.toContain('s3:ListBucket');
    expect(actionsOf(statements)).not.toContain('dynamodb:Query');
    const describe = statements.filter((s) => actionsOf([s]).includes('cloudformation:DescribeStacks'));
    expect(JSON.stringify(describe.map((s) => s.Resource))).toContain(':stack/Test/*');
  });

  it('grantOperate: what awsJobs() sends (and a Pool), and the listing Query on the byTime index only', () => {
    const roots = apiSurface(program, INDEX, 'JobOperations');
    const ops = sdkCommandsFrom(program, `${ROOT}src/aws/operations.ts`, ['awsJobs'], { roots });
    const code = iamActions(ops);
    expect(code).toContain('dynamodb:Query');
    const poolRoots = apiSurface(program, INDEX, 'AwsContext', ['Pool', 'Process']);
    const pool = iamActions(
      sdkCommandsFrom(program, `${ROOT}src/aws/context.ts`, ['aws'], { roots: poolRoots }),
    );
    const statements = statementsOf(operator);
    expect(actionsOf(statements)).toEqual(union(code, pool));
    // The Query reaches the listing index, never the table's own items.
    const query = statements.filter((s) => actionsOf([s]).includes('dynamodb:Query'));
    expect(query).toHaveLength(1);
    expect(actionsOf(query)).toEqual(['dynamodb:Query']);
    const resource = JSON.stringify(query[0]!.Resource);
    expect(resource).toContain('/index/byTime');
    expect(resource).not.toContain('/index/*');
  });

  it('grantPrimitives: what the primitives of aws() send, and nothing else', () => {
    expect(actionsOf(statementsOf(primitivesUser))).toEqual(primitivesActions());
  });
});

/**
 * The primitives outside a function: the factories and revivers with every method of what they
 * make, the environment that makes their clients, and the stack lookup that names the resources.
 */
function primitivesActions(): string[] {
  const sync = sdkCommandsFrom(program, `${ROOT}src/aws/sync/index.ts`, ['awsPrimitives', 'awsReviver'], {
    roots: primitiveRoots,
  });
  const env = sdkCommandsFrom(program, `${ROOT}src/aws/sync-context.ts`, ['contextSyncEnv']);
  const lookup = sdkCommandsFrom(program, `${ROOT}src/aws/connect.ts`, ['findResources']);
  return iamActions(new Map([...sync, ...env, ...lookup]));
}

function logGroupOf(name: string): 'coordinator' | 'worker' | 'deadLetter' | 'sweeper' {
  return name === 'dlq' ? 'deadLetter' : (name as 'coordinator' | 'worker' | 'sweeper');
}
