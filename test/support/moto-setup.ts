/**
 * vitest `globalSetup` of the tiers on moto (cloud, runner): installs moto once, in the main
 * process, before any test file starts, so that the first install (a minute or more, ~200 MB)
 * prints its progress straight to the terminal instead of holding the first file's set-up
 * silently. Later runs find the install and return at once.
 */
import { ensureMoto } from '../runner/index.js';

/** Installs moto unless it is there, saying what it does. */
export default async function setup(): Promise<void> {
  await ensureMoto((line) => process.stdout.write(`${line}\n`));
}
