/**
 * The check of test/unit/doc-examples.test.ts, run as a process of its own (`node --import tsx`):
 * it collects every `@example` of every export of the three entry points (`fanfold`, `fanfold/cdk`,
 * `fanfold/worker`: what TypeDoc documents) and of their classes' and interfaces' members, writes
 * each as a module of its own next to a tasks module that defines the tasks the examples call
 * (`./tasks.js`), type-checks the set with the project's compiler options, and prints a JSON report
 * on stdout. Out of the test's process because the two TypeScript programs are synchronous and take
 * minutes on a busy machine: inside a vitest worker they blocked its reports to vitest past its
 * 60 s limit ("Timeout calling onTaskUpdate"), which failed the run although every test passed.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRIES = {
  fanfold: 'src/index.ts',
  'fanfold/cdk': 'infra/fanfold.ts',
  'fanfold/worker': 'src/worker.ts',
};
/** Inside the repository, so that the examples resolve its packages and `fanfold` as the tests do. */
const out = join(root, '.cache', 'doc-examples');

/** The tasks the examples call, as a user's tasks module would define them. */
const TASKS = `import { defineTasks, type Value } from 'fanfold';

export default defineTasks({
  square: (n: number) => n * n,
  add: (a: number, b: number) => a + b,
  parse: (line: string) => JSON.parse(line) as unknown,
  countWords: (line: string) => {
    const counts: Record<string, number> = {};
    for (const w of line.toLowerCase().match(/[a-z]+/g) ?? []) counts[w] = (counts[w] ?? 0) + 1;
    return counts;
  },
  mergeCounts: (a: Record<string, number>, b: Record<string, number>) => {
    const out = { ...a };
    for (const [w, n] of Object.entries(b)) out[w] = (out[w] ?? 0) + n;
    return out;
  },
  increment: async (counter: Value<'i'>, times: number) => {
    for (let i = 0; i < times; i++) await counter.add(1);
  },
});
`;

interface Example {
  readonly entry: string;
  readonly name: string;
  readonly code: string;
}

function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  return { ...parsed.options, noEmit: true };
}

/** The code of each ```ts fence of each `@example` tag of a declaration's own comment. */
function examplesOf(decl: ts.Node): string[] {
  const codes: string[] = [];
  for (const tag of ts.getJSDocTags(decl)) {
    if (tag.tagName.text !== 'example') continue;
    const text = ts.getTextOfJSDocComment(tag.comment) ?? '';
    for (const m of text.matchAll(/```ts\n([\s\S]*?)```/g)) codes.push(m[1] ?? '');
  }
  return codes;
}

/** Every example of every export of the entry points, and of their classes' and interfaces' members. */
function collectExamples(options: ts.CompilerOptions): Example[] {
  const program = ts.createProgram(
    Object.values(ENTRIES).map((f) => join(root, f)),
    options,
  );
  const checker = program.getTypeChecker();
  const examples: Example[] = [];
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const source = program.getSourceFile(join(root, file));
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`${file} has no module symbol`);
    const seen = new Set<ts.Node>();
    const add = (name: string, decl: ts.Node) => {
      if (seen.has(decl)) return;
      seen.add(decl);
      for (const code of examplesOf(decl)) examples.push({ entry, name, code });
    };
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      for (const decl of symbol.declarations ?? []) {
        // A `const f = ...` carries its comment on the statement.
        add(exported.name, ts.isVariableDeclaration(decl) ? decl.parent.parent : decl);
        if (ts.isClassDeclaration(decl) || ts.isInterfaceDeclaration(decl)) {
          for (const member of decl.members) {
            const memberName = member.name && ts.isIdentifier(member.name) ? member.name.text : '?';
            add(`${exported.name}.${memberName}`, member);
          }
        }
      }
    }
  }
  return examples;
}

/** What the test asserts on. */
export interface DocExamplesReport {
  /** `entry:name` of every declaration with an example. */
  readonly named: string[];
  /** How many examples were compiled. */
  readonly count: number;
  /** Each compile error, with the example's entry, name and line. */
  readonly errors: string[];
}

function check(): DocExamplesReport {
  const options = compilerOptions();
  const examples = collectExamples(options);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'tasks.ts'), TASKS);
  const files = examples.map((e, i) => {
    const file = join(out, `${e.entry.replace('/', '-')}-${e.name.replace(/\W/g, '_')}-${i}.ts`);
    // Each example is a module of its own (top-level await, no clashes between examples).
    writeFileSync(file, `${e.code}\nexport {};\n`);
    return file;
  });
  const program = ts.createProgram([...files, join(out, 'tasks.ts')], options);
  const errors = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName.startsWith(out))
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      const example = examples[files.indexOf(d.file!.fileName)];
      const where = example ? `${example.entry} ${example.name}` : d.file!.fileName;
      return `${where} (line ${line + 1}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  rmSync(out, { recursive: true, force: true });
  return { named: [...new Set(examples.map((e) => `${e.entry}:${e.name}`))], count: examples.length, errors };
}

process.stdout.write(JSON.stringify(check()));
