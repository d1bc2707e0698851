/**
 * The CDK app of the drain test (`drains.test.ts`): a `Fanfold` stack whose event source mapping
 * is throttled to 2 invocations at once, with 6 drain invocations fired per job, synthesized by
 * `assembly.ts` and never deployed anywhere.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Fanfold } from '../../infra/fanfold.js';

const tasks = new URL('../fixtures/pool-tasks.ts', import.meta.url);
const app = new App();
// The name is DRAIN_STACK of drains.test.ts (not imported: importing this file runs the app).
new Fanfold(new Stack(app, 'FanfoldDrains', { description: 'fanfold drain test (runner only)' }), 'Fanfold', {
  tasks,
  worker: { maxConcurrency: 2 },
  coordinator: { drainWorkers: 6 },
});
app.synth();
