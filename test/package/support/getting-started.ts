/**
 * docs/getting-started.md followed by a user with `pm`, from the packed tarball in an empty folder
 * (see `guide.ts` for how the page reads as a script), then what the page promises of the result:
 * the synthesised stack's four bundled functions, a bundled application that runs from a folder
 * with nothing else in it, and errors of `fanfold/cdk` that are instances of `fanfold`'s classes.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type GuideStep, guideSteps, type PackageManager } from './guide.js';
import { NewProject } from './new-project.js';

const run = promisify(execFile);

/** A whole install with the CDK, the SDK and esbuild on a busy 2-core machine takes minutes. */
const GUIDE_TIMEOUT_MS = 20 * 60_000;

/** Declares the suite of the guide followed with `pm`. */
export function gettingStartedSuite(pm: PackageManager): void {
  describe(`docs/getting-started.md, followed with ${pm} from the packed tarball`, () => {
    let project: NewProject;

    beforeAll(() => {
      project = new NewProject(inject('fanfoldTarball'), pm);
    });

    afterAll(async () => {
      // A project with the CDK installed is large: removing it takes a while on a busy machine.
      if (project) await rm(dirname(project.dir), { recursive: true, force: true });
    }, 300_000);

    it(
      'runs as written: writes every file, runs every command, and each prints what the page shows',
      async () => {
        const steps = guideSteps(pm);
        // The page is not vacuous for this package manager.
        expect(steps.filter((s) => s.kind === 'command').length).toBeGreaterThanOrEqual(8);
        expect(steps.filter((s) => s.kind === 'expect').length).toBe(3);
        await follow(project, steps);
      },
      GUIDE_TIMEOUT_MS,
    );

    it('synthesised the stack with the four functions, each bundled with the tasks module', () => {
      const template = JSON.parse(project.read('cdk.out/MyApp.template.json')) as {
        Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
      };
      const functions = Object.entries(template.Resources)
        .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
        .map(([id, r]) => ({ id, asset: r.Metadata?.['aws:asset:path'] }));
      for (const name of ['Coordinator', 'Worker', 'DeadLetter', 'Sweeper']) {
        const fn = functions.find((f) => f.id.startsWith(`Fanfold${name}`));
        expect(fn?.asset, name).toBeDefined();
        const bundle = project.read(`cdk.out/${fn?.asset}/index.mjs`);
        // Every function but the sweeper carries the user's tasks (their names reach the bundle).
        if (name === 'Coordinator' || name === 'Worker') expect(bundle, name).toContain('square');
      }
    });

    it('bundled an application that runs from a folder holding only its two files', async () => {
      const bare = mkdtempSync(join(tmpdir(), `fanfold-bare-${pm}-`));
      try {
        const files = readdirSync(join(project.dir, 'out')).sort();
        expect(files).toEqual(['bundled-app.mjs', 'worker.mjs']);
        for (const f of files) copyFileSync(join(project.dir, 'out', f), join(bare, f));
        // No node_modules above it, no fanfold files beside it: the two files are the program.
        const { stdout } = await run(process.execPath, [join(bare, 'bundled-app.mjs')], {
          cwd: bare,
          timeout: 120_000,
        });
        expect(stdout).toBe('0 1 4 9 16\n');
      } finally {
        rmSync(bare, { recursive: true, force: true });
      }
    });

    it("throws from fanfold/cdk the very error classes fanfold exports (one copy of fanfold's code)", async () => {
      mkdirSync(join(project.dir, 'checks'), { recursive: true });
      writeFileSync(
        join(project.dir, 'checks', 'errors.ts'),
        [
          "import { App, Stack } from 'aws-cdk-lib';",
          "import { FanfoldError, InvalidArgumentError } from 'fanfold';",
          "import { Fanfold } from 'fanfold/cdk';",
          '',
          'try {',
          "  new Fanfold(new Stack(new App(), 'Errors'), 'Fanfold', { tasks: 'relative/tasks.ts' });",
          '} catch (e) {',
          '  const fanfold = e instanceof FanfoldError, invalid = e instanceof InvalidArgumentError;',
          '  console.log(JSON.stringify({ fanfold, invalid, code: (e as FanfoldError).code }));',
          '}',
        ].join('\n'),
      );
      const r = await project.run(
        pm === 'npm' ? 'npx tsx checks/errors.ts' : 'pnpm exec tsx checks/errors.ts',
      );
      expect(r.code, r.output).toBe(0);
      expect(JSON.parse(r.output)).toEqual({
        fanfold: true,
        invalid: true,
        code: 'ERR_FANFOLD_INVALID_ARGUMENT',
      });
    });
  });
}

/** Follows the steps in `project`, failing with the command's output where the page is wrong. */
async function follow(project: NewProject, steps: readonly GuideStep[]): Promise<void> {
  let last: { line: string; code: number; output: string } | undefined;
  let failed = false;
  for (const step of steps) {
    if (failed && !(step.kind === 'expect' && step.fails)) {
      throw new Error(
        `\`${last?.line}\` failed (${last?.code}) where the page shows no failure:\n${last?.output}`,
      );
    }
    switch (step.kind) {
      case 'file':
        writeFileSync(join(project.dir, step.path), step.text);
        break;
      case 'command': {
        const r = await project.run(step.line);
        last = { line: project.pin(step.line), ...r };
        failed = r.code !== 0;
        break;
      }
      case 'expect': {
        expect(last, 'an output block follows a command').toBeDefined();
        const what = `\`${last?.line}\` (exit code ${last?.code}):\n${last?.output}`;
        expect(last?.code !== 0, what).toBe(step.fails);
        for (const line of step.lines) expect(last?.output, what).toContain(line);
        failed = false;
        break;
      }
    }
  }
  if (failed) throw new Error(`\`${last?.line}\` failed (${last?.code}):\n${last?.output}`);
}
