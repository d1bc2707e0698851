/**
 * The context every primitives example runs on: `local()` (worker threads of this process) by
 * default, `aws()` on the stack named by `FANFOLD_STACK` when it is set (deployed, or stood up on
 * the emulators by `npm run example:primitives`).
 */
import { aws, local } from 'fanfold';
import tasks from './tasks.js';

const stack = process.env.FANFOLD_STACK;

/** The examples' context: the same calls work on either. */
export const mp = stack ? aws({ tasks, stack }) : local({ tasks });
