/**
 * The worker Lambda: runs batches of chunk messages from the work queue's event source mapping on
 * a pool of worker threads. Wiring only; the handler is `src/aws/lambda/worker.ts`.
 *
 * This bundle doubles as the thread script: each pool thread loads this same file and, not being
 * the main thread, serves the tasks. The handler itself creates nothing until its first call, so
 * loading the file in a thread has no other effect.
 */
import { isMainThread } from 'node:worker_threads';
import tasks from '@fanfold/tasks';
import { serveWorkerTasks } from '../src/aws/lambda/thread-sync.js';
import { createWorkerHandler } from '../src/aws/lambda/worker.js';

// Threads revive primitives' handles on the function's own table, bucket and queues.
if (!isMainThread) serveWorkerTasks(tasks);

export const handler = createWorkerHandler({ script: import.meta.url });
