/**
 * Whether the LocalStack tier can run on this machine: the decision `scripts/test-localstack.mjs`
 * takes before it starts anything. Plain logic, unit-tested in `decide.test.ts`.
 */

/** The outcome of `docker info`: ok when the client reached a daemon, else what it printed. */
export interface DockerInfo {
  readonly ok: boolean;
  readonly error?: string;
}

/** Run the tier, or skip it and say why. */
export type Decision = { readonly run: true } | { readonly run: false; readonly reason: string };

/**
 * LocalStack runs in a container and starts a container per Lambda function, so it needs a Docker
 * engine; and since March 2026 its image requires `LOCALSTACK_AUTH_TOKEN`. Docker is checked first:
 * without an engine a token would not help.
 */
export function decide(env: Readonly<Record<string, string | undefined>>, docker: DockerInfo): Decision {
  if (!docker.ok) {
    const lines = (docker.error ?? '').split('\n').map((l) => l.trim());
    const why = lines.filter(Boolean).pop() ?? 'unknown error';
    return { run: false, reason: `no Docker engine here (docker info failed: ${why})` };
  }
  if (!env.LOCALSTACK_AUTH_TOKEN?.trim()) {
    return {
      run: false,
      reason: 'LOCALSTACK_AUTH_TOKEN is not set (LocalStack requires one since March 2026)',
    };
  }
  return { run: true };
}
