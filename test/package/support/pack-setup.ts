/**
 * The package project's global set-up: packs fanfold once, as `npm publish` would ship it, for
 * every file that installs it into a new project (two files packing at once would also build
 * dist/ at once). The tarball's path reaches the files through `inject('fanfoldTarball')`.
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TestProject } from 'vitest/node';
import { packFanfold } from './new-project.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Absolute path of the packed fanfold tarball. */
    fanfoldTarball: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tarball = await packFanfold();
  project.provide('fanfoldTarball', tarball);
  return () => rm(dirname(tarball), { recursive: true, force: true });
}
