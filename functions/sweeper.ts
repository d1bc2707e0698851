/**
 * The sweeper Lambda: deletes the SQS queues of abandoned `Queue`s and `Pipe`s on a schedule.
 * Wiring only; the handler is `src/aws/lambda/sweeper.ts`.
 */
import { createSweeperHandler } from '../src/aws/lambda/sweeper.js';

export const handler = createSweeperHandler();
