/**
 * The CDK app that `cdk.json` runs: one env-agnostic stack named `Fanfold` with the example tasks.
 * `npx cdk synth` writes the template and the four bundled functions (coordinator, worker,
 * dead-letter, sweeper) to `cdk.out/`. Its feature flags are set in `cdk.json`.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Fanfold } from './fanfold.js';

const app = new App();
const stack = new Stack(app, 'Fanfold', { description: 'fanfold: a multiprocessing Pool on AWS Lambda' });
new Fanfold(stack, 'Fanfold', { tasks: new URL('../examples/wordfreq.tasks.ts', import.meta.url) });
app.synth();
