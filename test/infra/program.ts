/**
 * The TypeScript program the IAM tests analyse (sdk-calls.ts), and the API surface a caller outside
 * it may call: the roots of the call graph that no handler reaches by itself.
 */
import { dirname } from 'node:path';
import ts from 'typescript';
import { ours } from './sdk-calls.js';

/** The program over `entries` and whatever they import, with the project's compiler options. */
export function loadProgram(root: string, entries: readonly string[]): ts.Program {
  const configFile = ts.findConfigFile(root, ts.sys.fileExists, 'tsconfig.json');
  if (!configFile) throw new Error(`no tsconfig.json in ${root}`);
  const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, dirname(configFile));
  return ts.createProgram({ rootNames: [...entries], options: { ...parsed.options, noEmit: true } });
}

/**
 * The members of `typeName` (exported by `file`; those named in `only`, if given), of the types
 * they return, and of the types those return in turn: what code given such an object may call.
 * For `Primitives`, every method of every primitive a task may receive (a `Manager`'s dicts and
 * lists included).
 */
export function apiSurface(
  program: ts.Program,
  file: string,
  typeName: string,
  only?: readonly string[],
): ts.Node[] {
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(file);
  const moduleSymbol = sf && checker.getSymbolAtLocation(sf);
  const s = moduleSymbol && checker.tryGetMemberInModuleExports(typeName, moduleSymbol);
  if (!s) throw new Error(`${file} does not export ${typeName}`);
  const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
  const out: ts.Node[] = [];
  const seen = new Set<ts.Symbol>();
  const members = (t: ts.Type, depth: number, names?: readonly string[]) => {
    for (const p of t.getProperties()) {
      if (names && !names.includes(p.name)) continue;
      const decls = (p.declarations ?? []).filter((d) => ours(d.getSourceFile()));
      out.push(...decls);
      if (depth === 0 || !decls[0]) continue;
      for (const sig of checker.getTypeOfSymbolAtLocation(p, decls[0]).getCallSignatures()) {
        const ret = checker.getAwaitedType(sig.getReturnType()) ?? sig.getReturnType();
        for (const r of flatten(ret)) {
          const rs = r.getSymbol();
          if (!rs || seen.has(rs) || !rs.declarations?.some((d) => ours(d.getSourceFile()))) continue;
          seen.add(rs);
          members(r, depth - 1);
        }
      }
    }
  };
  /** A union's members and a tuple's (or array's) elements, `Pipe()` returning two connections. */
  const flatten = (t: ts.Type): ts.Type[] =>
    t.isUnion()
      ? t.types.flatMap(flatten)
      : checker.isTupleType(t) || checker.isArrayType(t)
        ? checker.getTypeArguments(t as ts.TypeReference).flatMap(flatten)
        : [t];
  members(checker.getDeclaredTypeOfSymbol(target), 3, only);
  return out;
}
