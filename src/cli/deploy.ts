/**
 * `fanfold deploy`, `synth` and `destroy`: thin wrappers over the CDK CLI for users without a CDK
 * app of their own. They write a one-stack app (the `Fanfold` construct with the user's tasks
 * module, from `fanfold/cdk`) to a temporary folder and run `cdk <command> --app` on it, from the
 * user's folder (so their `cdk.json` context and AWS profile apply); arguments after `--` go to
 * the CDK CLI as they are. The CDK CLI (`aws-cdk`) and `aws-cdk-lib` are the user's to install.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from './args.js';
import { type CliIO, ExitCodes } from './io.js';

type CdkCommand = Extract<Command, { kind: 'deploy' | 'synth' | 'destroy' }>;

/** The CDK app the wrappers run: one stack holding one `Fanfold` with the given tasks module. */
export function appSource(constructUrl: string, stack: string, tasks: string): string {
  return [
    `import { App, Stack } from ${JSON.stringify(resolveFrom(constructUrl, 'aws-cdk-lib'))};`,
    `import { Fanfold } from ${JSON.stringify(constructUrl)};`,
    'const app = new App();',
    `const stack = new Stack(app, ${JSON.stringify(stack)}, { description: 'fanfold: a multiprocessing Pool on AWS Lambda' });`,
    `new Fanfold(stack, 'Fanfold', { tasks: ${JSON.stringify(tasks)} });`,
    'app.synth();',
    '',
  ].join('\n');
}

/** Runs one wrapper; resolves to the exit code (the CDK CLI's failure is {@link ExitCodes.ERROR}). */
export async function runCdk(command: CdkCommand, io: CliIO): Promise<number> {
  const tasks = resolve(io.cwd, command.tasks);
  if (!existsSync(tasks)) {
    io.stderr.write(
      `fanfold: Cannot find the tasks module ${JSON.stringify(command.tasks)} (looked at ${tasks})\n`,
    );
    return ExitCodes.USAGE;
  }
  const cdk = findCdk(io.cwd);
  if (!cdk) {
    io.stderr.write(
      'fanfold: the CDK CLI is not installed here: npm install --save-dev aws-cdk aws-cdk-lib constructs\n',
    );
    return ExitCodes.ERROR;
  }
  const dir = mkdtempSync(join(tmpdir(), 'fanfold-app-'));
  try {
    const app = join(dir, 'app.mjs');
    const construct = constructModule();
    writeFileSync(app, appSource(construct.url, command.stack, tasks));
    const node = [process.execPath, ...construct.nodeArgs].map(quote).join(' ');
    const args = [cdk, command.kind, '--app', `${node} ${quote(app)}`];
    if (command.out !== undefined) args.push('--output', resolve(io.cwd, command.out));
    if (command.kind === 'synth') args.push('--quiet');
    args.push(...command.cdkArgs);
    const code = await run(process.execPath, args, io);
    return code === 0 ? ExitCodes.OK : ExitCodes.ERROR;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The `Fanfold` construct's module: the package's `fanfold/cdk`, or, when this CLI runs from its
 * TypeScript source (a clone of fanfold), the construct's source beside it, run through tsx, so
 * that the stack is the one this source describes and not an older build.
 */
function constructModule(): { url: string; nodeArgs: string[] } {
  const source = new URL('../../infra/fanfold.ts', import.meta.url);
  if (import.meta.url.endsWith('.ts') && existsSync(source))
    return { url: source.href, nodeArgs: ['--import', 'tsx'] };
  return { url: import.meta.resolve('fanfold/cdk'), nodeArgs: [] };
}

/** The CDK CLI's entry, installed in the user's project or beside fanfold. */
function findCdk(cwd: string): string | undefined {
  for (const from of [join(cwd, 'package.json'), import.meta.url]) {
    try {
      return createRequire(from).resolve('aws-cdk/bin/cdk');
    } catch {
      // Not here: try the next place.
    }
  }
  return undefined;
}

/** A package as the construct's module resolves it (the user's aws-cdk-lib, the one it uses). */
function resolveFrom(url: string, pkg: string): string {
  return pathToFileURL(createRequire(url).resolve(pkg)).href;
}

function quote(s: string): string {
  return /^[\w./:-]+$/.test(s) ? s : `"${s.replace(/(["\\$`])/g, '\\$1')}"`;
}

/** Runs the CDK CLI with its output passed through to the CLI's streams. */
function run(cmd: string, args: readonly string[], io: CliIO): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, {
      cwd: io.cwd,
      env: { ...process.env, ...io.env },
      stdio: ['inherit', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (b: Buffer) => io.stdout.write(b.toString()));
    child.stderr.on('data', (b: Buffer) => io.stderr.write(b.toString()));
    child.on('error', fail);
    child.on('close', (code) => done(code ?? 1));
  });
}
