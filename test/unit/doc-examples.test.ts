/**
 * The API reference's examples compile. Every `@example` of every export of the three entry points
 * (`fanfold`, `fanfold/cdk`, `fanfold/worker`: what TypeDoc documents) is a module of its own,
 * written next to a tasks module that defines the tasks the examples call (`./tasks.js`), and the
 * whole set is type-checked with the project's compiler options: an example that names a task, an
 * option or a method the API does not have fails here. The check runs in a process of its own
 * (support/doc-examples.ts says why).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DocExamplesReport } from './support/doc-examples.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./support/doc-examples.ts', import.meta.url));

describe('the API reference', () => {
  let report: DocExamplesReport;

  beforeAll(async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', SCRIPT], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 600_000,
    });
    report = JSON.parse(stdout) as DocExamplesReport;
  }, 660_000);

  it('has examples on the main exports', () => {
    const main = [
      'fanfold:local',
      'fanfold:aws',
      'fanfold:defineTasks',
      'fanfold:Pool',
      'fanfold:range',
      'fanfold:lines',
      'fanfold:defineJob',
      'fanfold:FanfoldError',
      'fanfold/cdk:Fanfold',
      'fanfold/worker:serveTasks',
    ];
    expect(main.filter((m) => !report.named.includes(m))).toEqual([]);
  });

  it('compiles every example against the API, beside a tasks module', () => {
    expect(report.count).toBeGreaterThan(10);
    expect(report.errors).toEqual([]);
  });
});
