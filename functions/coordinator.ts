/**
 * The coordinator Lambda: creates jobs and fans their chunks out on the work queue. Wiring only;
 * the handler is `src/aws/lambda/coordinator.ts`.
 */
import tasks from '@fanfold/tasks';
import { createCoordinatorHandler } from '../src/aws/lambda/coordinator.js';

export const handler = createCoordinatorHandler({ tasks });
