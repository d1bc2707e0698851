/**
 * The Lambda runner: a synthesized CDK stack stood up on this machine, its services on moto and
 * its functions run from their `cdk.out` bundles. Test support for fanfold, never shipped with it.
 * What it models and what it does not: README.md beside this file.
 *
 * Imports nothing of fanfold: only Node, the AWS SDK and the files of this folder (a test of its
 * own keeps it so).
 */
export {
  dynamoClient,
  type EmulatorClientOptions,
  type EmulatorClients,
  emulatorClients,
  s3Client,
  sqsClient,
} from './src/clients.js';
export {
  EMULATOR_CREDENTIALS,
  EMULATOR_REGION,
  type Emulators,
  ensureMoto,
  INSTALL_TIMEOUT_MS,
  MOTO_VERSION,
  type Say,
  startEmulators,
} from './src/emulators.js';
export {
  type EsmBatch,
  EsmPoller,
  type EsmPollerOptions,
  type EsmStats,
  MAX_BATCH_PAYLOAD_BYTES,
} from './src/esm-poller.js';
export type { DeployedStack, EventSourceMappingSpec, FunctionSpec } from './src/resources.js';
export { type Cloud, type StartCloudOptions, startCloud } from './src/runner.js';
export { FunctionSandbox, type InvokeOutcome, type LambdaError } from './src/sandbox.js';
export { readStackAssembly, type StackAssembly, scaleTimeouts, type Template } from './src/template.js';
