/**
 * Stands a synthesized CDK stack up on this machine: moto (SQS, DynamoDB, S3) on 127.0.0.1, the
 * stack's queues, tables and buckets created in it from the template, its Lambda functions run
 * from their `cdk.out` bundles in child processes behind a local Invoke API, and its SQS event
 * source mappings polled. Test support only.
 *
 * Modelled: the Invoke API (RequestResponse, Event, DryRun; payload limits; Lambda's error shapes),
 * containers as processes (warm reuse, frozen between invocations, one invocation at a time,
 * killed on timeout or crash, ReservedConcurrentExecutions as a throttle), the function's
 * environment from the template, and SQS mappings (BatchSize, MaximumBatchingWindowInSeconds, the
 * 6 MB batch cut, ReportBatchItemFailures, MaximumConcurrency, redrive through the queue's own
 * RedrivePolicy), asynchronous invocations (retries after a function error, the maximum event age,
 * the invocation record sent to an SQS on-failure or on-success destination),
 * CloudFormation's DescribeStacks for the stack's outputs.
 *
 * Not modelled: IAM (roles, policies, resource policies: every call is allowed) and request
 * signatures; cold-start and init timing (an init is however long the import takes; INIT over
 * 10 s fails); idle containers being recycled (they live until stop()); Lambda's and the mapping's
 * scaling rates (a mapping runs MaximumConcurrency, or 5, pollers at once from the start, capped by
 * `maxContainersPerFunction`) and its backoff after errors; memory limits and CPU shares (a
 * container gets the host's cores; MemorySize only reaches the environment and context); the
 * declared Runtime and Architectures (bundles run on this machine's Node); a read-only file
 * system and a private /tmp; throttling of async invocations (an event waits for a container);
 * FIFO ordering
 * after a failed batch (moto keeps group order, the runner adds nothing); FilterCriteria (refused);
 * provisioned pollers (ignored); log formatting and CloudWatch Logs.
 *
 * @example
 * ```ts
 * const cloud = await startCloud({ cdkOut: 'cdk.out' });
 * try {
 *   const lambda = new LambdaClient({ ...cloud.clientOptions, endpoint: cloud.lambdaEndpoint });
 *   await lambda.send(new InvokeCommand({ FunctionName: cloud.functionName('Coordinator'), Payload }));
 * } finally {
 *   await cloud.stop();
 * }
 * ```
 */
import { AsyncInvocations } from './async-invoke.js';
import { emulatorClients, sqsClient } from './clients.js';
import { type Emulators, startEmulators } from './emulators.js';
import { EsmPoller } from './esm-poller.js';
import { type LambdaServer, startLambdaServer } from './lambda-server.js';
import { startReaper } from './reaper.js';
import { type DeployedStack, deployStack } from './resources.js';
import { FunctionSandbox } from './sandbox.js';
import { readStackAssembly } from './template.js';

/** Options of {@link startCloud}. */
export interface StartCloudOptions {
  /** The cloud assembly folder `cdk synth` wrote. */
  readonly cdkOut: string;
  /** The stack to stand up. @default the assembly's only stack */
  readonly stack?: string;
  /** Emulators to use (left running by stop()). @default new ones, stopped by stop() */
  readonly emulators?: Emulators;
  /** Containers per function at most, whatever the concurrency asked for. @default 4 */
  readonly maxContainersPerFunction?: number;
  /**
   * Concurrent invocations of a mapping without ScalingConfig.MaximumConcurrency (Lambda starts
   * at 5 and scales up; the runner does not scale). @default 5
   */
  readonly defaultMappingConcurrency?: number;
  /** Freeze idle containers, as Lambda does. @default true */
  readonly freeze?: boolean;
  /** Receives each line the functions write, and errors of the pollers. @default silent unless FANFOLD_RUNNER_LOGS=1 */
  readonly onLog?: (source: string, line: string) => void;
  /**
   * Pauses before an asynchronous invocation's second and third attempts (Lambda waits a minute,
   * then two). @default [1000, 2000]
   */
  readonly asyncRetryDelaysMs?: readonly number[];
  /**
   * Variables set on the functions whose logical id starts with a key, over the template's: a
   * test's stand-in for a construct prop it does not want to synthesize a stack for.
   */
  readonly environment?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * The endpoint one party of the stack sends its SQS, DynamoDB and S3 requests to instead of the
   * emulator, and a function its Lambda requests instead of the Invoke API: a function, by its
   * logical id, or the event source mappings (`'mappings'`, SQS only). For a counting proxy with a
   * port per party in front of both. Undefined keeps the party's usual endpoints.
   * @default the emulator's and the Invoke API's endpoints for every party
   */
  readonly serviceEndpoint?: (party: string) => string | undefined;
}

/** A running stack. */
export interface Cloud {
  /** The Invoke API's endpoint, for `new LambdaClient({ endpoint })`. */
  readonly lambdaEndpoint: string;
  /** Every service's endpoint, as the functions see them. */
  readonly endpoints: {
    readonly sqs: string;
    readonly dynamodb: string;
    readonly s3: string;
    readonly lambda: string;
    /** DescribeStacks of this stack only. */
    readonly cloudformation: string;
  };
  /** Region and dummy credentials for the caller's clients (add the `endpoint`). */
  readonly clientOptions: Emulators['clientOptions'];
  /** The deployed stack: resources by logical id (`ref`, `attributes`), outputs, functions, mappings. */
  readonly stack: DeployedStack;
  /** The stack's resources by logical id: what `Ref` gives (a queue's URL, a table's name, …) and `Fn::GetAtt` attributes. */
  readonly resources: DeployedStack['resources'];
  /** The stack's outputs, resolved. */
  readonly outputs: DeployedStack['outputs'];
  /** A function's name by its logical id, or by a prefix of it (CDK appends a hash). */
  functionName(logicalIdPrefix: string): string;
  /** The sandbox of a function, by name. */
  readonly sandboxes: ReadonlyMap<string, FunctionSandbox>;
  /** The running event source mappings. */
  readonly pollers: readonly EsmPoller[];
  /** Errors the pollers and background invocations reported. */
  readonly errors: readonly unknown[];
  /** The asynchronous invocations (Event): their attempts, failures and records sent. */
  readonly async: AsyncInvocations;
  /** Stops the pollers, the Invoke API and every container, and the emulators it started. */
  stop(): Promise<void>;
}

/** Starts the emulators (unless given), deploys the stack and starts its functions and mappings. */
export async function startCloud(options: StartCloudOptions): Promise<Cloud> {
  const assembly = readStackAssembly(options.cdkOut, options.stack);
  const ownEmulators = options.emulators === undefined;
  const emulators = options.emulators ?? (await startEmulators());
  const { clientOptions } = emulators;
  const clients = emulatorClients(clientOptions);
  const errors: unknown[] = [];
  const onLog =
    options.onLog ??
    (process.env.FANFOLD_RUNNER_LOGS === '1'
      ? (source: string, line: string) => process.stderr.write(`[${source}] ${line}\n`)
      : undefined);
  const report = (source: string) => (error: unknown) => {
    errors.push(error);
    onLog?.(source, `error: ${error instanceof Error ? error.stack : String(error)}`);
  };

  /** Clients made for a party's own endpoint, destroyed with the rest. */
  const ownClients: { destroy(): void }[] = [];
  const sandboxes = new Map<string, FunctionSandbox>();
  const reaper = startReaper();
  let server: LambdaServer | undefined;
  const pollers: EsmPoller[] = [];
  let asyncInvocations: AsyncInvocations | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      asyncInvocations?.stop();
      // Abandoning a long poll is safe: generated queue names are unique per deploy, so a
      // message an abandoned receive takes in flight belongs to no one else.
      const polled = Promise.all(pollers.map((p) => p.stop({ abort: true })));
      await server?.close();
      await Promise.all([...sandboxes.values()].map((s) => s.stop()));
      await reaper.close();
      await polled;
      for (const client of [...Object.values(clients), ...ownClients]) client.destroy();
      if (ownEmulators) await emulators.stop();
    })();
    return stopping;
  };

  try {
    const stack = withEnvironment(
      await deployStack(assembly, clients, clientOptions.region),
      options.environment,
    );
    const async = new AsyncInvocations({
      sqs: clients.sqs,
      configs: stack.eventInvokeConfigs,
      onError: report('async invoke'),
      onLog,
      ...(options.asyncRetryDelaysMs ? { retryDelaysMs: options.asyncRetryDelaysMs } : {}),
    });
    asyncInvocations = async;
    const lambdaServer = await startLambdaServer((name) => sandboxes.get(name), {
      region: stack.region,
      accountId: stack.accountId,
      onBackgroundError: report('invoke'),
      stack,
      runAsync: (sandbox, payload, clientContext) => async.start(sandbox, payload, clientContext),
    });
    server = lambdaServer;
    const endpoints = {
      sqs: emulators.endpoint,
      dynamodb: emulators.endpoint,
      s3: emulators.endpoint,
      lambda: lambdaServer.endpoint,
      cloudformation: lambdaServer.endpoint,
    };
    const runtimeEnv = {
      AWS_REGION: stack.region,
      AWS_DEFAULT_REGION: stack.region,
      AWS_ACCESS_KEY_ID: clientOptions.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: clientOptions.credentials.secretAccessKey,
      AWS_SESSION_TOKEN: 'testing',
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_LAMBDA: endpoints.lambda,
      AWS_ENDPOINT_URL_CLOUDFORMATION: endpoints.cloudformation,
    };
    for (const fn of stack.functions) {
      const own = options.serviceEndpoint?.(fn.logicalId);
      sandboxes.set(
        fn.name,
        new FunctionSandbox(fn, {
          runtimeEnv: own
            ? {
                ...runtimeEnv,
                AWS_ENDPOINT_URL_SQS: own,
                AWS_ENDPOINT_URL_DYNAMODB: own,
                AWS_ENDPOINT_URL_S3: own,
                AWS_ENDPOINT_URL_LAMBDA: own,
              }
            : runtimeEnv,
          ...(options.maxContainersPerFunction !== undefined
            ? { maxContainers: options.maxContainersPerFunction }
            : {}),
          ...(options.freeze !== undefined ? { freeze: options.freeze } : {}),
          ...(onLog ? { onLog } : {}),
          reaper,
        }),
      );
    }
    const mappingsEndpoint = options.serviceEndpoint?.('mappings');
    const mappingsSqs = mappingsEndpoint
      ? sqsClient({ ...clientOptions, endpoint: mappingsEndpoint })
      : clients.sqs;
    if (mappingsSqs !== clients.sqs) ownClients.push(mappingsSqs);
    for (const mapping of stack.eventSourceMappings) {
      const sandbox = [...sandboxes.values()].find(
        (s) => s.spec.name === mapping.functionName || s.spec.arn === mapping.functionName,
      );
      if (!sandbox) throw new Error(`${mapping.logicalId}: no function ${mapping.functionName}`);
      const wanted = mapping.maximumConcurrency ?? options.defaultMappingConcurrency ?? 5;
      const cap = Math.min(
        options.maxContainersPerFunction ?? 4,
        sandbox.spec.reservedConcurrency ?? Number.POSITIVE_INFINITY,
      );
      sandbox.reserveForMapping(Math.min(wanted, cap));
      const poller = new EsmPoller(mapping, {
        sqs: mappingsSqs,
        region: stack.region,
        invoke: (payload) => sandbox.invoke(payload),
        concurrency: Math.min(wanted, cap),
        onError: report(mapping.logicalId),
      });
      poller.start();
      pollers.push(poller);
    }
    return {
      lambdaEndpoint: lambdaServer.endpoint,
      endpoints,
      clientOptions,
      stack,
      resources: stack.resources,
      outputs: stack.outputs,
      functionName(prefix) {
        const matches = stack.functions.filter((f) => f.logicalId.startsWith(prefix));
        if (matches.length !== 1)
          throw new Error(
            `${matches.length} functions' logical ids start with ${prefix}: ${stack.functions.map((f) => f.logicalId).join(', ')}`,
          );
        return matches[0]!.name;
      },
      sandboxes,
      pollers,
      errors,
      async,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The stack with `environment`'s variables set on the functions whose logical ids they name. */
function withEnvironment(stack: DeployedStack, environment: StartCloudOptions['environment']): DeployedStack {
  if (!environment) return stack;
  for (const prefix of Object.keys(environment))
    if (!stack.functions.some((f) => f.logicalId.startsWith(prefix)))
      throw new Error(`environment: no function's logical id starts with ${prefix}`);
  const functions = stack.functions.map((f) => {
    const extra = Object.entries(environment)
      .filter(([prefix]) => f.logicalId.startsWith(prefix))
      .map(([, vars]) => vars);
    return extra.length === 0 ? f : { ...f, environment: Object.assign({}, f.environment, ...extra) };
  });
  return { ...stack, functions };
}
