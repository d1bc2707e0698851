/**
 * The cloud tier's emulator: moto's server (PyPI `moto[server]`) on a free port of 127.0.0.1,
 * serving SQS, DynamoDB and S3 from one process. Installed on first use into the project's
 * `.venv/` (git-ignored; `FANFOLD_MOTO_VENV` names another directory); later runs find the install
 * marker and skip pip entirely. `FANFOLD_PYTHON` names the python that creates the venv.
 *
 * A missing `python3`, `venv` or pip is an error, never a skip: CI must provide them (on Debian:
 * `apt-get install -y python3-venv`).
 *
 * @example
 * ```ts
 * let emulators: Emulators;
 * beforeAll(async () => { emulators = await startEmulators(); }, INSTALL_TIMEOUT_MS);
 * afterAll(() => emulators?.stop());
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The moto release the harness installs and the adapters are verified against. */
export const MOTO_VERSION = '5.2.5';

/** Long enough for a first install (about 65 s here) plus the server's start. */
export const INSTALL_TIMEOUT_MS = 600_000;

/** The project this runner is a folder of (test/runner/src/ → ../../../): its `.venv` by default. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Where moto is installed; CI may point it outside the clone so that later runs reuse it. */
const VENV = process.env.FANFOLD_MOTO_VENV ?? `${ROOT}.venv`;
const VENV_PYTHON = `${VENV}/bin/python`;
const MARKER = `${VENV}/.fanfold-moto-${MOTO_VERSION}`;
const LOCK = `${VENV}/.fanfold-install.lock`;
const RUNNER = fileURLToPath(new URL('./run_moto.py', import.meta.url));
/** A lock older than this is left over from a killed install and is broken. */
const STALE_LOCK_MS = 10 * 60_000;

/** Region and dummy credentials for every emulator client (never from `~/.aws`). */
export const EMULATOR_REGION = 'us-east-1';
export const EMULATOR_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

/** A running emulator. */
export interface Emulators {
  /** `http://127.0.0.1:PORT`, the endpoint of every service. */
  readonly endpoint: string;
  /** How long the server took from spawn to listening, in ms. */
  readonly startupMs: number;
  /** Client options for {@link emulatorClients} and the SDK's own clients. */
  readonly clientOptions: {
    readonly region: string;
    readonly endpoint: string;
    readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  };
  /** Stops the server and waits for its process to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** What a failed step of the install most likely needs, said with its output. */
const NEEDS_PYTHON =
  'The cloud tier needs python3 with venv and pip (Debian: apt-get install -y python3-venv).';
const NEEDS_PYPI =
  'pip could not fetch it: the cloud tier needs PyPI (https://pypi.org) reachable once per machine, ' +
  'directly or through the index in PIP_INDEX_URL / pip.conf (a mirror or a proxy). ' +
  "pip's last lines below say why it failed.";

/** Runs one install step; on failure rejects with the command, `hint` and the output's tail. */
function run(command: string, args: readonly string[], what: string, hint: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (e) => reject(new Error(`${what} failed to start \`${command}\`: ${e.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${what} failed (\`${command} ${args.join(' ')}\` exited ${code ?? signal}). ` +
              `${hint}\n${output}`,
          ),
        );
    });
  });
}

/** Where {@link ensureMoto} says what it is doing: one line at a time. */
export type Say = (line: string) => void;

/** The default {@link Say}: stderr, which vitest passes through from its workers. */
const sayOnStderr: Say = (line) => {
  console.error(line);
};

/** Says `what` now, then `step` with the time spent every 15 s and when `work` is done. */
async function announced<T>(say: Say, what: string, step: string, work: Promise<T>): Promise<T> {
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 1000);
  say(`${what}…`);
  const timer = setInterval(() => say(`moto: still ${step} (${seconds()} s)`), 15_000);
  try {
    const out = await work;
    say(`moto: done ${step} in ${seconds()} s`);
    return out;
  } finally {
    clearInterval(timer);
  }
}

/** Takes the install lock, or waits for whoever holds it; breaks a stale one. */
async function withInstallLock(say: Say, body: () => Promise<void>): Promise<void> {
  mkdirSync(VENV, { recursive: true });
  let told = false;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // Another test file (vitest runs them in parallel) is installing; it writes the marker.
      if (existsSync(MARKER)) return;
      if (!told) {
        say(`moto: another process is installing it into ${VENV}; waiting for it (${LOCK})`);
        told = true;
      }
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS)
          rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // The holder released it between our two calls.
      }
      await sleep(500);
    }
  }
  try {
    await body();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * Installs moto into `.venv/` unless the marker of {@link MOTO_VERSION} is there. Returns the
 * venv's python. Idempotent, and safe to call from test files running in parallel. The first
 * install takes a minute or more and downloads about 200 MB: it says so through `say` when it
 * starts, every 15 s while it runs, and when it is done.
 */
export async function ensureMoto(say: Say = sayOnStderr): Promise<string> {
  if (existsSync(MARKER) && existsSync(VENV_PYTHON)) return VENV_PYTHON;
  await withInstallLock(say, async () => {
    if (existsSync(MARKER) && existsSync(VENV_PYTHON)) return;
    const python = process.env.FANFOLD_PYTHON ?? 'python3';
    if (!existsSync(VENV_PYTHON))
      await announced(
        say,
        `moto: creating a Python virtualenv in ${VENV}`,
        'creating the virtualenv',
        run(python, ['-m', 'venv', VENV], `Creating the virtualenv ${VENV}`, NEEDS_PYTHON),
      );
    await announced(
      say,
      `moto: installing moto[server]==${MOTO_VERSION} into ${VENV} for the cloud tier ` +
        '(once per machine: about a minute, ~200 MB from PyPI)',
      'installing',
      run(
        VENV_PYTHON,
        // --no-compile: byte-compiling all of botocore costs ~8 s; moto compiles what it imports.
        [
          '-m',
          'pip',
          'install',
          '--disable-pip-version-check',
          '--quiet',
          '--no-compile',
          `moto[server]==${MOTO_VERSION}`,
        ],
        `Installing moto[server]==${MOTO_VERSION}`,
        NEEDS_PYPI,
      ),
    );
    await run(
      VENV_PYTHON,
      ['-c', `import moto, sys; sys.exit(moto.__version__ != ${JSON.stringify(MOTO_VERSION)})`],
      'Checking the moto install',
      `The virtualenv ${VENV} holds another moto than ${MOTO_VERSION}, or a broken one: remove it and run again.`,
    );
    writeFileSync(MARKER, `${new Date().toISOString()}\n`);
  });
  return VENV_PYTHON;
}

/** Every child still running, killed if the test process exits without calling stop(). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Installs moto if needed and starts it on a free port of 127.0.0.1. */
export async function startEmulators(): Promise<Emulators> {
  const python = await ensureMoto();
  const started = performance.now();
  // stdin stays open: the runner exits when it closes, so even a SIGKILLed test leaves no server.
  const child = spawn(python, [RUNNER], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  // The server may be gone when we close its stdin; that is fine.
  child.stdin.on('error', () => {});
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8_000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => fail('did not report a port within 60 s'), 60_000);
    const onError = (e: Error): void => fail(`could not start: ${e.message}`);
    const onExit = (code: number | null, signal: string | null): void =>
      fail(`exited (${code ?? signal}) before it was ready`);
    function fail(why: string): void {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`moto server ${why}\n${stderr}`));
    }
    child.once('error', onError);
    child.once('exit', onExit);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /MOTO_READY (\d+)/.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      child.off('error', onError);
      child.off('exit', onExit);
      // Keep draining stdout so a chatty server never blocks on a full pipe.
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve(Number(match[1]));
    });
  });
  const startupMs = performance.now() - started;
  const endpoint = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    startupMs,
    clientOptions: { region: EMULATOR_REGION, endpoint, credentials: EMULATOR_CREDENTIALS },
    stop() {
      stopping ??= (async () => {
        child.stdin.end();
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      })();
      return stopping;
    },
  };
}
