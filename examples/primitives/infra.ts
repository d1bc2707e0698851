/**
 * The CDK app of the primitives examples: one stack, `FanfoldPrimitives`, whose functions carry the
 * examples' tasks (`tasks.ts`). Deploy it with
 *
 *   npx cdk deploy --app 'node --import tsx examples/primitives/infra.ts'
 *
 * then run any example with `FANFOLD_STACK=FanfoldPrimitives`. `npm run example:primitives` stands it
 * up on this machine's emulators and runs all five (see `run-local.ts`).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Fanfold } from '../../infra/fanfold.js';

/** The examples' stack name (override with FANFOLD_STACK when deploying it under another name). */
export const PRIMITIVES_STACK = 'FanfoldPrimitives';

const app = new App();
const stack = new Stack(app, process.env.FANFOLD_STACK || PRIMITIVES_STACK, {
  description: 'fanfold: the primitives examples (examples/primitives)',
});
new Fanfold(stack, 'Fanfold', { tasks: new URL('./tasks.ts', import.meta.url) });
app.synth();
