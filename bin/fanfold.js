#!/usr/bin/env node
// The `fanfold` command: a launcher for the compiled CLI in dist/ (built by `npm run build`,
// which `npm install` runs through the prepare script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('fanfold: dist/cli/main.js is missing; run `npm run build` first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
