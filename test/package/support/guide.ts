/**
 * docs/getting-started.md as a script: its code blocks in order, as a reader follows them. A block
 * whose info string names a file (```` ```ts app.ts ````) is that file; ```` ```sh npm ```` and
 * ```` ```sh pnpm ```` are the commands of one package manager, a line each; ```` ```text output ````
 * is what the last command before it prints (each line of the block appears in its output), and
 * ```` ```text failure ```` the same from a command that must fail. Other blocks are prose.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package managers the guide is written for. */
export type PackageManager = 'npm' | 'pnpm';

/** One step of the guide. */
export type GuideStep =
  | { readonly kind: 'file'; readonly path: string; readonly text: string }
  | { readonly kind: 'command'; readonly line: string }
  | { readonly kind: 'expect'; readonly lines: readonly string[]; readonly fails: boolean };

export const GUIDE = fileURLToPath(new URL('../../../docs/getting-started.md', import.meta.url));

/** The steps of the guide for `pm`, in the order a reader meets them. */
export function guideSteps(pm: PackageManager, markdown = readFileSync(GUIDE, 'utf8')): GuideStep[] {
  const steps: GuideStep[] = [];
  for (const m of markdown.matchAll(/^```(\S*)(?: +(\S+))?\n([\s\S]*?)^```$/gm)) {
    const [, lang = '', tag, body = ''] = m;
    if (lang === 'sh' && tag === pm) {
      for (const line of body.split('\n'))
        if (line.trim()) steps.push({ kind: 'command', line: line.trim() });
    } else if (lang === 'text' && (tag === 'output' || tag === 'failure')) {
      const lines = body
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      steps.push({ kind: 'expect', lines, fails: tag === 'failure' });
    } else if (tag && lang !== 'sh' && lang !== 'text') {
      steps.push({ kind: 'file', path: tag, text: body });
    }
  }
  return steps;
}
