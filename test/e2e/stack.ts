/**
 * The CDK app of the e2e tier: a `Fanfold` stack with the Pool tests' tasks and short timeouts, so
 * that the retry and redelivery paths finish in seconds on the runner. `assembly.ts` synthesizes it
 * (`cdk synth --app 'node --import tsx test/e2e/stack.ts'`); it is never deployed anywhere.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Fanfold } from '../../infra/fanfold.js';

const app = new App();
// The name is E2E_STACK of assembly.ts (not imported: importing this file runs the app).
const stack = new Stack(app, 'FanfoldE2e', { description: 'fanfold e2e tests (runner only)' });
new Fanfold(stack, 'Fanfold', {
  tasks: new URL('../fixtures/pool-tasks.ts', import.meta.url),
  coordinator: { timeout: Duration.seconds(30) },
  // Short, so that a lost batch comes back soon (the queue's visibility timeout is 6 × this: 2 min),
  // but long enough for a Process, which runs at most once and must end within one invocation:
  // two Processes taking turns at a Lock 10 times each (in one invocation) took 3–8 s on a loaded
  // 2-CPU runner, 2–3 s of it before the tasks started (a cold container's threads, then each
  // process's own thread, loading the bundle) and 0.5–1 s of lock work; at 5 s, runs timed out.
  worker: { timeout: Duration.seconds(20), maxConcurrency: 2 },
  deadLetter: { timeout: Duration.seconds(5) },
  maxReceiveCount: 2,
});
app.synth();
