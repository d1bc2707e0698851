/**
 * The dead-letter Lambda: fails the job of each chunk that exhausted its deliveries. Wiring only;
 * the handler is `src/aws/lambda/dlq.ts`.
 */
import { createDeadLetterHandler } from '../src/aws/lambda/dlq.js';

export const handler = createDeadLetterHandler();
