// piscina's worker module: the very task functions fanfold runs, exported by name for `run(x, { name })`.
import registry from '../.out/tasks.js';

export const { square, noop, rendezvous, spin, sha } = registry.tasks;
