/**
 * The CDK app of the worker tests (`workers.test.ts`): two `Fanfold` stacks with the Pool tests'
 * tasks, synthesized together by `assembly.ts` and never deployed anywhere.
 *
 * - `FanfoldDefaults`: the construct's default timeouts (a 5 min worker timeout, so a queue
 *   visibility of 30 min, messages held 30 s at a time): a worker killed mid-batch must cost
 *   seconds, not the queue's timeout.
 * - `FanfoldShort`: a worker with a short timeout and one thread, so that a batch outlasts its
 *   invocation within a test: 30 s, handing back 5 s before the end (long enough for a cold start
 *   on a loaded machine to leave time for a chunk); messages held 60 s at a time, so that a message
 *   handed back (visible at once) is told apart from one whose hold ran out; the default 5
 *   deliveries, since a chunk handed back is delivered again.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Fanfold } from '../../infra/fanfold.js';

const tasks = new URL('../fixtures/pool-tasks.ts', import.meta.url);
const app = new App();
// The names are WORKER_STACKS of workers.test.ts (not imported: importing this file runs the app).
new Fanfold(
  new Stack(app, 'FanfoldDefaults', { description: 'fanfold worker tests (runner only)' }),
  'Fanfold',
  { tasks },
);
new Fanfold(
  new Stack(app, 'FanfoldShort', { description: 'fanfold worker tests (runner only)' }),
  'Fanfold',
  {
    tasks,
    worker: {
      timeout: Duration.seconds(30),
      handBackMargin: Duration.seconds(5),
      messageVisibility: Duration.seconds(60),
      memorySize: 1769,
    },
    deadLetter: { timeout: Duration.seconds(5) },
  },
);
app.synth();
