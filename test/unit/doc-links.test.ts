/**
 * The docs stand alone: every relative link of the project's Markdown files leads to a file of the
 * project (a clone, and the package's README, have nothing outside it), and no text names the
 * engineers' research folder that a clone does not have.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Generated or installed folders, not the project's own docs. */
const SKIP = new Set([
  'node_modules',
  'dist',
  'cdk.out',
  '.git',
  '.cache',
  '.venv',
  'coverage',
  'api',
  '.out',
]);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name)) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return markdownFiles(path);
    return e.name.endsWith('.md') ? [path] : [];
  });
}

/** The targets of `[text](target)` links that are neither URLs nor anchors of the same page. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#'));
}

describe("the project's Markdown", () => {
  const files = markdownFiles(ROOT);

  it('is found (README, CHANGELOG, docs/, the folders’ READMEs)', () => {
    const names = files.map((f) => relative(ROOT, f));
    expect(names).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'docs/getting-started.md']));
    expect(names.length).toBeGreaterThan(10);
  });

  it('links only to files inside the project, and each exists', () => {
    const broken: string[] = [];
    for (const file of files) {
      for (const link of relativeLinks(readFileSync(file, 'utf8'))) {
        const target = resolve(file, '..', decodeURI(link.split('#')[0] ?? ''));
        const inside = !relative(ROOT, target).startsWith('..');
        if (!inside || !existsSync(target)) broken.push(`${relative(ROOT, file)}: ${link}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('names no research folder outside the project', () => {
    const cited = files.filter((f) => /shared\/research/.test(readFileSync(f, 'utf8')));
    expect(cited.map((f) => relative(ROOT, f))).toEqual([]);
  });
});
