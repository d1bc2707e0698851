/**
 * The CDK app of the application example: one stack, `FanfoldExample`, whose functions carry the
 * example's tasks (`tasks.ts`). Deploy it to AWS with
 *
 *   npx cdk deploy --app 'node --import tsx examples/app/infra.ts'
 *
 * then run `node --import tsx examples/app/main.ts` with your AWS credentials. `npm run example:app`
 * synthesizes it and runs it on this machine's emulators instead (see `run-local.ts`).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Fanfold } from '../../infra/fanfold.js';

/** The example's stack name (override with FANFOLD_STACK when deploying it under another name). */
export const EXAMPLE_STACK = 'FanfoldExample';

const app = new App();
const stack = new Stack(app, process.env.FANFOLD_STACK || EXAMPLE_STACK, {
  description: 'fanfold: the application example (examples/app)',
});
new Fanfold(stack, 'Fanfold', { tasks: new URL('./tasks.ts', import.meta.url) });
app.synth();
