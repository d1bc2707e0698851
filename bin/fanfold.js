#!/usr/bin/env node
// The `fanfold` command: a launcher for the compiled CLI in dist/. An installed package always has
// dist/. A clone has it once `npm ci` (or `npm install`) ran the prepare script; before that, or
// after `rm -rf dist`, the launcher runs the TypeScript source through tsx (a devDependency, so
// present in a clone) instead of failing, and says so.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);

async function load() {
  if (existsSync(entry)) return import(entry.href);
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    tsx = undefined;
  }
  if (!existsSync(source) || tsx === undefined) {
    process.stderr.write(
      'fanfold: dist/src/cli/main.js is missing; run `npm install` (it builds dist/) first\n',
    );
    process.exit(1);
  }
  process.stderr.write(
    'fanfold: dist/ is not built; running the TypeScript source through tsx (`npm run build` starts faster)\n',
  );
  tsx.register();
  return import(source.href);
}

const { main } = await load();
process.exitCode = await main(process.argv.slice(2));
