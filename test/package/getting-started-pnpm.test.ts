/**
 * docs/getting-started.md followed with pnpm, from the packed tarball in an empty folder (the other
 * package manager's run is a file of its own, so that vitest runs the two side by side).
 */
import { gettingStartedSuite } from './support/getting-started.js';

gettingStartedSuite('pnpm');
