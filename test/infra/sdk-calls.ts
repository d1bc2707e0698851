/**
 * What AWS requests a piece of fanfold's code can send, read from the code itself: a call graph
 * over the TypeScript sources, built with the compiler's type checker, from an entry (a function's
 * `handler`) to every `@aws-sdk/client-*` command class it can reach. The IAM tests compare it with
 * the roles the construct writes, so that a new SDK call without its permission, or a permission
 * no code uses any more, fails a test.
 *
 * The graph follows what a reference resolves to: a call, a function passed as a value, a getter,
 * `new C()` (C's constructor and field initialisers), an `import()` (the module's top-level code)
 * whose members are then used. A call through an interface (a port such as `JobStore`) or a base
 * class reaches the same-named member of every class constructed on the path (and of every object
 * literal on it) that implements or extends it: rapid type analysis, so an adapter that the path
 * never makes adds nothing. Reading a data property runs nothing; a function called out of a table
 * by a computed key (`module.revive[kind](…)`) may be any function of the table. The result may be
 * wider than what one run sends (both branches of every `if`), never narrower, short of code
 * reached only through `any`. `TransactWriteItems` needs the permission of each kind of item
 * it holds: the `Put`, `Update`, `Delete` and `ConditionCheck` keys of object literals on the path.
 */
import ts from 'typescript';

/** A command class of the SDK as `<client>:<Name>` (`dynamodb:GetItem`), or `TransactWriteItems:<Key>`. */
export type SdkCommand = string;

/** Keys of a `TransactWriteItems` entry, each needing the permission of the single-item request. */
const TRANSACT_KEYS = new Set(['Put', 'Update', 'Delete', 'ConditionCheck']);

/** A class or object literal, with every type it implements or extends. */
interface Container {
  readonly node: ts.ClassLikeDeclaration | ts.ObjectLiteralExpression;
  readonly types: readonly ts.Type[];
}

/** A source file of the project (not a declaration file, not a package's). */
export const ours = (sf: ts.SourceFile) => !sf.isDeclarationFile && !sf.fileName.includes('/node_modules/');

/** Options of {@link sdkCommandsFrom}. */
export interface SdkCommandsOptions {
  /** Members that a caller outside the program may call (the methods of the primitives a task receives). */
  readonly roots?: readonly ts.Node[];
  /** Files the graph does not enter (to tell one part's requests from another's). */
  readonly cut?: RegExp;
}

/**
 * The SDK commands reachable from the named exports of `file` and from `options.roots`, each with
 * the chain of declarations that reaches it (`file:line name`), for a failing test's message.
 */
export function sdkCommandsFrom(
  program: ts.Program,
  file: string,
  exports: readonly string[],
  options: SdkCommandsOptions = {},
): Map<SdkCommand, string[]> {
  const { roots = [], cut } = options;
  const checker = program.getTypeChecker();
  const containers = indexContainers(program, checker);
  const found = new Map<SdkCommand, ts.Node>();
  const via = new Map<ts.Node, ts.Node | undefined>();
  const queue: ts.Node[] = [];
  const live = new Set<Container>();
  const pending = new Set<ts.Node>();
  const loaded = new Set<ts.SourceFile>();
  let current: ts.Node | undefined;
  // Follows import aliases to the declared symbol.
  const aliased = (s: ts.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);

  const source = program.getSourceFile(file);
  if (!source) throw new Error(`${file} is not in the program`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  load(source);
  for (const name of exports) {
    const s = moduleSymbol && checker.tryGetMemberInModuleExports(name, moduleSymbol);
    if (!s) throw new Error(`${file} does not export ${name}`);
    for (const d of aliased(s).declarations ?? []) reach(d);
  }
  for (const r of roots) reach(r);
  while (queue.length > 0) {
    current = queue.pop() as ts.Node;
    enter(current);
  }

  const paths = new Map<SdkCommand, string[]>();
  for (const [command, at] of found) {
    const path: string[] = [];
    for (let n: ts.Node | undefined = at; n && path.length < 40; n = via.get(n)) path.unshift(describe(n));
    paths.set(command, path);
  }
  return paths;

  function reach(n: ts.Node | undefined): void {
    if (n && ours(n.getSourceFile()) && !cut?.test(n.getSourceFile().fileName) && !via.has(n)) {
      via.set(n, current);
      queue.push(n);
    }
  }

  function note(command: SdkCommand): void {
    if (current && !found.has(command)) found.set(command, current);
  }

  /**
   * A module's code that runs when it is loaded: its top-level statements and the initialisers of
   * its top-level constants that call something; and its static imports, loaded first.
   */
  function load(sf: ts.SourceFile | undefined): void {
    if (!sf || loaded.has(sf) || !ours(sf)) return;
    loaded.add(sf);
    for (const st of sf.statements) {
      if (ts.isImportDeclaration(st) && !st.importClause?.isTypeOnly) load(imported(st.moduleSpecifier, sf));
      else if (ts.isExportDeclaration(st) && st.moduleSpecifier && !st.isTypeOnly)
        load(imported(st.moduleSpecifier, sf));
      else if (ts.isVariableStatement(st)) {
        for (const d of st.declarationList.declarations)
          if (d.initializer && runsAtLoad(d.initializer)) reach(d.initializer);
      } else if (!isDeclaration(st)) reach(st);
    }
  }

  function imported(spec: ts.Expression, from: ts.SourceFile): ts.SourceFile | undefined {
    if (!ts.isStringLiteralLike(spec)) return undefined;
    const r = ts.resolveModuleName(spec.text, from.fileName, program.getCompilerOptions(), ts.sys);
    return r.resolvedModule && program.getSourceFile(r.resolvedModule.resolvedFileName);
  }

  /** What a reached declaration runs. */
  function enter(d: ts.Node): void {
    if (ts.isClassLike(d)) {
      // `new C()`: the constructor, field initialisers, static blocks, and the base class's.
      makeLive(d);
      for (const m of d.members)
        if (
          ts.isConstructorDeclaration(m) ||
          ts.isClassStaticBlockDeclaration(m) ||
          ts.isPropertyDeclaration(m)
        )
          walk(m);
      for (const h of d.heritageClauses ?? [])
        if (h.token === ts.SyntaxKind.ExtendsKeyword) for (const t of h.types) refer(t.expression);
      return;
    }
    if (isMember(d)) expand(d);
    if (!ts.isMethodSignature(d) && !ts.isPropertySignature(d)) walk(d);
  }

  /**
   * Every reference inside `n`, nested functions included, but types (not code) and the methods of
   * object literals typed by our own interfaces: those run when called through the interface.
   */
  function walk(n: ts.Node): void {
    if (ts.isTypeNode(n) || ts.isTypeAliasDeclaration(n) || ts.isInterfaceDeclaration(n)) return;
    if (n !== current && isDispatchedMethod(n)) return;
    if (isTransactItem(n)) note(`TransactWriteItems:${n.name.text}`);
    if (ts.isObjectLiteralExpression(n) || ts.isClassExpression(n)) makeLive(n);
    if (
      ts.isElementAccessExpression(n) &&
      !ts.isLiteralExpression(n.argumentExpression) &&
      checker.getNonNullableType(checker.getTypeAtLocation(n)).getCallSignatures().length > 0
    )
      anyOf(n.expression);
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0])
      load(imported(n.arguments[0], n.getSourceFile()));
    if (ts.isShorthandPropertyAssignment(n)) {
      const value = checker.getShorthandAssignmentValueSymbol(n);
      if (value) follow(value, n);
    } else if (ts.isIdentifier(n) || ts.isPrivateIdentifier(n)) refer(n);
    n.forEachChild(walk);
  }

  function refer(n: ts.Node): void {
    const s = checker.getSymbolAtLocation(n);
    if (s) follow(aliased(s), n);
  }

  function follow(s: ts.Symbol, at: ts.Node): void {
    if (noteCommand(s)) return;
    for (const d of s.declarations ?? []) {
      if (!ours(d.getSourceFile())) continue;
      if (ts.isBindingElement(d)) {
        // What a destructuring takes out of a module (`const { GetItemCommand } = await
        // sdk.dynamo()`, `const { connect } = await import('./connect.js')`): the binding's type
        // is the class or function.
        const typeSymbol = checker.getTypeOfSymbolAtLocation(s, at).getSymbol();
        if (typeSymbol && typeSymbol !== s) follow(typeSymbol, at);
      } else if (ts.isFunctionLike(d) || ts.isClassLike(d) || ts.isMethodSignature(d)) reach(d);
      else if (ts.isPropertySignature(d)) {
        // A function-valued property of an interface runs the implementations' functions.
        if (checker.getTypeOfSymbolAtLocation(s, at).getCallSignatures().length > 0) reach(d);
      } else if (ts.isPropertyDeclaration(d) || ts.isPropertyAssignment(d) || ts.isVariableDeclaration(d)) {
        // Reading a value runs nothing; calling a function-valued one runs the function. A table
        // of functions (an object or array literal, such as the primitives' modules) may have any
        // of them called through a computed name, so all of them count.
        const init = d.initializer;
        if (init && (ts.isFunctionLike(init) || ts.isClassLike(init))) reach(init);
        else if (init && ts.isVariableDeclaration(d)) liveValues(init);
        if (ts.isPropertyDeclaration(d) || ts.isPropertyAssignment(d)) expandIfCallable(d, s, at);
      }
    }
  }

  /**
   * A constant whose value is an object or array literal (and the constants it names): those
   * objects exist, so a call through an interface may reach their methods.
   */
  function liveValues(e: ts.Expression): void {
    const x = ts.isAsExpression(e) || ts.isSatisfiesExpression(e) ? e.expression : e;
    if (ts.isArrayLiteralExpression(x)) {
      makeLive(x);
      for (const el of x.elements) liveValues(el);
    } else if (ts.isObjectLiteralExpression(x)) {
      makeLive(x);
      for (const p of x.properties) if (ts.isPropertyAssignment(p)) liveValues(p.initializer);
    } else if (ts.isIdentifier(x)) {
      // Another constant table (`MODULES = [locks, queues, …]`); a function named here runs only
      // when called.
      const s = checker.getSymbolAtLocation(x);
      for (const d of (s && aliased(s).declarations) ?? [])
        if (ts.isVariableDeclaration(d) && d.initializer && ours(d.getSourceFile()))
          liveValues(d.initializer);
    }
  }

  /**
   * `table[key]` with a computed key and a function as its value: any function of the table may run. Through an interface
   * property (`module.revive[kind]`), its values in every live implementation; through a constant,
   * every function of its literal.
   */
  function anyOf(table: ts.Expression): void {
    const s = checker.getSymbolAtLocation(ts.isPropertyAccessExpression(table) ? table.name : table);
    for (const d of (s && aliased(s).declarations) ?? []) {
      if (!ours(d.getSourceFile())) continue;
      if (ts.isPropertySignature(d)) expand(d);
      else if (ts.isPropertyAssignment(d) || ts.isPropertyDeclaration(d)) reach(d);
      else if (ts.isVariableDeclaration(d) && d.initializer) everyFunction(d.initializer);
    }
  }

  function everyFunction(e: ts.Node): void {
    if (ts.isFunctionLike(e)) reach(e);
    else if (ts.isIdentifier(e)) refer(e);
    else e.forEachChild(everyFunction);
  }

  /**
   * A method of an object literal whose type is one of our interfaces (a port, a primitive's
   * API): it runs when called through that interface, where {@link expand} finds it.
   */
  function isDispatchedMethod(n: ts.Node): boolean {
    const literal = n.parent;
    if (!literal || !ts.isObjectLiteralExpression(literal)) return false;
    const fn =
      ts.isMethodDeclaration(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n)
        ? n
        : ts.isPropertyAssignment(n) && ts.isFunctionLike(n.initializer)
          ? n.initializer
          : undefined;
    const name = fn && nameOf(n);
    const c = containers.get(literal);
    if (!name || !c) return false;
    // Declared by one of our types (through Partial<>, Omit<> too); an index signature is not.
    return c.types.some((t) =>
      t.getProperty(name)?.declarations?.some((d) => d.parent !== literal && ours(d.getSourceFile())),
    );
  }

  /** A function-valued field or property reached by name: its overrides and implementations too. */
  function expandIfCallable(d: ts.Node, s: ts.Symbol, at: ts.Node): void {
    if (checker.getTypeOfSymbolAtLocation(s, at).getCallSignatures().length > 0) expand(d);
  }

  /** Records `s` if it is an SDK command class. */
  function noteCommand(s: ts.Symbol): boolean {
    const command = commandOf(s);
    if (command) note(command);
    return command !== undefined;
  }

  /** A member reached by name: the same-named members of every live container below its owner. */
  function expand(member: ts.Node): void {
    if (pending.has(member)) return;
    pending.add(member);
    for (const c of live) implementIn(c, member);
  }

  function makeLive(node: ts.Node): void {
    const c = containers.get(node);
    if (!c || live.has(c)) return;
    live.add(c);
    for (const m of pending) implementIn(c, m);
  }

  /** Reaches `c`'s own member for `member` when one of `c`'s supertypes declares it. */
  function implementIn(c: Container, member: ts.Node): void {
    const name = nameOf(member);
    if (c.node === member.parent || !name) return;
    // Through mapped types too: Omit<LocalContext, 'kind'> keeps LocalContext's declarations.
    if (!c.types.some((t) => t.getProperty(name)?.declarations?.includes(member as ts.Declaration))) return;
    const members = ts.isObjectLiteralExpression(c.node) ? c.node.properties : c.node.members;
    const caller = current;
    current = member; // the chain then shows the interface member that dispatched here
    for (const m of members) if (nameOf(m) === name) reach(m);
    current = caller;
  }
}

/** Every class and typed object literal of the project's sources, by node. */
function indexContainers(program: ts.Program, checker: ts.TypeChecker): Map<ts.Node, Container> {
  const out = new Map<ts.Node, Container>();
  const supertypes = (t: ts.Type | undefined, into: ts.Type[]) => {
    if (!t || into.includes(t)) return;
    if (t.isUnionOrIntersection()) for (const u of t.types) supertypes(u, into);
    into.push(t);
    if (t.isClassOrInterface()) for (const b of checker.getBaseTypes(t) ?? []) supertypes(b, into);
  };
  const visit = (n: ts.Node) => {
    if (ts.isClassLike(n)) {
      const types: ts.Type[] = [];
      for (const h of n.heritageClauses ?? [])
        for (const t of h.types) supertypes(checker.getTypeAtLocation(t), types);
      out.set(n, { node: n, types });
    } else if (ts.isObjectLiteralExpression(n)) {
      const types: ts.Type[] = [];
      supertypes(checker.getContextualType(n), types);
      if (types.length > 0) out.set(n, { node: n, types });
    }
    n.forEachChild(visit);
  };
  for (const sf of program.getSourceFiles()) if (ours(sf)) visit(sf);
  return out;
}

/**
 * `Put: { TableName, … }` (or `Update`, `Delete`, `ConditionCheck`): an entry of a DynamoDB
 * transaction, which names its table (S3's `DeleteObjects` also has a `Delete` key, without one).
 */
function isTransactItem(n: ts.Node): n is ts.PropertyAssignment & { name: ts.Identifier } {
  return (
    ts.isPropertyAssignment(n) &&
    ts.isIdentifier(n.name) &&
    TRANSACT_KEYS.has(n.name.text) &&
    ts.isObjectLiteralExpression(n.initializer) &&
    n.initializer.properties.some((p) => nameOf(p) === 'TableName')
  );
}

/** A member of an interface, a type literal or a class: something an override may replace. */
function isMember(d: ts.Node): boolean {
  return (
    ts.isMethodSignature(d) ||
    ts.isPropertySignature(d) ||
    ((ts.isMethodDeclaration(d) || ts.isGetAccessor(d) || ts.isPropertyDeclaration(d)) &&
      ts.isClassLike(d.parent))
  );
}

function nameOf(n: ts.Node): string | undefined {
  const name = (n as { name?: ts.Node }).name;
  return name && (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name))
    ? name.text
    : undefined;
}

/** `file:line name` of a declaration. */
function describe(n: ts.Node): string {
  const sf = n.getSourceFile();
  const line = sf.getLineAndCharacterOfPosition(n.getStart()).line + 1;
  const where = sf.fileName.replace(/^.*?\/(src|functions|infra)\//, '$1/');
  return `${where}:${line} ${nameOf(n) ?? ts.SyntaxKind[n.kind]}`;
}

/** The `<client>:<Name>` of an SDK command class, or undefined. */
function commandOf(s: ts.Symbol): SdkCommand | undefined {
  if (!s.name.endsWith('Command') || s.name === 'Command') return undefined;
  for (const d of s.declarations ?? []) {
    const client = /\/node_modules\/@aws-sdk\/client-([a-z0-9-]+)\//.exec(d.getSourceFile().fileName)?.[1];
    if (client) return `${client}:${s.name.slice(0, -'Command'.length)}`;
  }
  return undefined;
}

/** A top-level statement that only declares (imports, exports, functions, classes, types). */
function isDeclaration(st: ts.Statement): boolean {
  return (
    ts.isImportDeclaration(st) ||
    ts.isImportEqualsDeclaration(st) ||
    ts.isExportDeclaration(st) ||
    ts.isExportAssignment(st) ||
    ts.isFunctionDeclaration(st) ||
    ts.isClassDeclaration(st) ||
    ts.isInterfaceDeclaration(st) ||
    ts.isTypeAliasDeclaration(st) ||
    ts.isEnumDeclaration(st) ||
    ts.isModuleDeclaration(st)
  );
}

/** An initialiser that runs code at load: a call, a `new` or an `await` outside any function. */
function runsAtLoad(e: ts.Node): boolean {
  if (ts.isCallExpression(e) || ts.isNewExpression(e) || ts.isAwaitExpression(e)) return true;
  if (ts.isFunctionLike(e) || ts.isClassLike(e)) return false;
  return e.forEachChild((c) => (runsAtLoad(c) ? true : undefined)) ?? false;
}
