/**
 * The CDK app the bench's scale counts run on the Lambda runner: a `Fanfold` stack on the
 * construct's defaults (worker 3,538 MB and 2 threads, batch 10, 5 min timeout; 5 deliveries),
 * with the Pool tests' tasks, and one change: the coordinator may run 5 minutes, since on a
 * loaded 2-core machine a 1,000-chunk submit outlasts the default 60 s (the runner's functions
 * share the cores with moto). `assembly.ts` synthesizes it; it is never deployed anywhere.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Fanfold } from '../../infra/fanfold.js';

const app = new App();
// The name is SCALE_STACK of assembly.ts (not imported: importing this file runs the app).
const stack = new Stack(app, 'FanfoldScale', { description: 'fanfold scale bench (runner only)' });
new Fanfold(stack, 'Fanfold', {
  tasks: new URL('../../test/fixtures/pool-tasks.ts', import.meta.url),
  coordinator: { timeout: Duration.minutes(5) },
});
app.synth();
