// `npm run prepare`: npm runs it after `npm install` and `npm ci` in a clone, before `npm pack`, and
// when `npx fanfold` in a clone links the clone into npx's cache to run its bin. It builds dist/
// incrementally (`tsc -b`: about a second when dist/ is up to date, so the first npx pays no build).
// Before `npm install` TypeScript is not there: it then builds nothing and says so instead of failing,
// because a failed prepare fails that npx with exit code 127 and leaves npx's cache entry for the
// clone half made (every later `npx fanfold` there fails with ENOENT until the entry is deleted).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  process.stderr.write(
    'fanfold: TypeScript is not installed, so dist/ was not built: run `npm install` first\n',
  );
  process.exit(0);
}
const build = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(build.status ?? 1);
