/**
 * Whether the LocalStack tier can run on this machine, and with which image: the decision
 * `scripts/test-localstack.mjs` takes before it starts anything, and the names it shares with
 * `docker-compose.yml`. Plain logic, unit-tested in `decide.test.ts`.
 */

/** The image of the tier (`docker-compose.yml` names the same one). */
export const LOCALSTACK_IMAGE = 'localstack/localstack';

/**
 * The tag the tier pins (`LOCALSTACK_VERSION` overrides it): the last release that starts without
 * an auth token. From 23 March 2026 `latest` is a single image that requires `LOCALSTACK_AUTH_TOKEN`,
 * and so does every release from 4.15 on (the calendar versions, 2026.03.0 on, included).
 */
export const DEFAULT_LOCALSTACK_VERSION = '4.14.0';

/**
 * The label that LocalStack puts on the Lambda containers it starts through the Docker socket
 * (`LAMBDA_DOCKER_FLAGS` in docker-compose.yml). They are not part of the compose project, so
 * `docker compose down --remove-orphans` leaves them; the tier's teardown removes them by it.
 */
export const LAMBDA_CONTAINER_LABEL = 'fanfold.localstack=lambda';

/** The outcome of `docker info`: ok when the client reached a daemon, else what it printed. */
export interface DockerInfo {
  readonly ok: boolean;
  readonly error?: string;
}

/** Run the tier on an image tag, or skip it and say why. */
export type Decision =
  | { readonly run: true; readonly version: string }
  | { readonly run: false; readonly reason: string };

/** The tag to run: `LOCALSTACK_VERSION`, else {@link DEFAULT_LOCALSTACK_VERSION}. */
export function localstackVersion(env: Readonly<Record<string, string | undefined>>): string {
  return env.LOCALSTACK_VERSION?.trim() || DEFAULT_LOCALSTACK_VERSION;
}

/**
 * Whether a tag of the image needs `LOCALSTACK_AUTH_TOKEN` to start: 4.14.x and older do not;
 * 4.15 on, the calendar versions and any tag that is not a version (`latest`, `stable`) do.
 */
export function needsToken(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) return true;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > 4 || (major === 4 && minor >= 15);
}

/**
 * LocalStack runs in a container and starts a container per Lambda function, so it needs a Docker
 * engine; a token only where the tag needs one. Docker is checked first: without an engine a
 * token would not help.
 */
export function decide(env: Readonly<Record<string, string | undefined>>, docker: DockerInfo): Decision {
  if (!docker.ok) {
    const lines = (docker.error ?? '').split('\n').map((l) => l.trim());
    const why = lines.filter(Boolean).pop() ?? 'unknown error';
    return { run: false, reason: `no Docker engine here (docker info failed: ${why})` };
  }
  const version = localstackVersion(env);
  if (needsToken(version) && !env.LOCALSTACK_AUTH_TOKEN?.trim()) {
    return {
      run: false,
      reason:
        `LOCALSTACK_AUTH_TOKEN is not set, and ${LOCALSTACK_IMAGE}:${version} requires one ` +
        `(${DEFAULT_LOCALSTACK_VERSION}, the tier's default, does not: unset LOCALSTACK_VERSION)`,
    };
  }
  return { run: true, version };
}
