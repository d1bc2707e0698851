/**
 * Reads a synthesized CDK cloud assembly (`cdk.out/`): the stack's CloudFormation template, and
 * where each function's code is (the `asset.<hash>/` folder that `cdk synth` bundled), and
 * resolves CloudFormation's intrinsic functions against values the caller supplies.
 *
 * Only what a CDK app like fanfold's emits is understood: `Ref`, `Fn::GetAtt`, `Fn::Join`,
 * `Fn::Sub`, `Fn::Select`, `Fn::Split`, `Fn::If` and the condition functions, `Fn::Base64`,
 * `Fn::GetAZs`, pseudo parameters and parameter defaults. Anything else is an error naming it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** A resource as it appears in the template. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | readonly string[];
  readonly Condition?: string;
  readonly Metadata?: Record<string, unknown>;
}

/** The parts of a CloudFormation template the runner reads. */
export interface Template {
  readonly Parameters?: Record<string, { readonly Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Resources: Record<string, TemplateResource>;
  readonly Outputs?: Record<string, { readonly Value: unknown; readonly Condition?: string }>;
}

/** One stack of a cloud assembly. */
export interface StackAssembly {
  /** The stack's name (the artifact id in `manifest.json`, else the template's file name). */
  readonly stackName: string;
  /** The cloud assembly's directory, absolute. */
  readonly dir: string;
  readonly template: Template;
  /** Absolute path of the code folder of a function resource, when the assembly has it. */
  codeDir(logicalId: string): string | undefined;
}

interface Manifest {
  readonly artifacts?: Record<
    string,
    { readonly type?: string; readonly properties?: { readonly templateFile?: string } }
  >;
}

interface AssetManifest {
  readonly files?: Record<
    string,
    {
      readonly source?: { readonly path?: string };
      readonly destinations?: Record<string, { readonly objectKey?: string }>;
    }
  >;
}

/**
 * Reads the stack `stack` of the cloud assembly in `dir`; `stack` may be left out when the
 * assembly holds one stack.
 */
export function readStackAssembly(dir: string, stack?: string): StackAssembly {
  const root = resolve(dir);
  const stacks = listStacks(root);
  const names = [...stacks.keys()];
  const stackName = stack ?? (names.length === 1 ? names[0] : undefined);
  if (stackName === undefined)
    throw new Error(
      names.length === 0
        ? `no stack template (*.template.json) in ${root}`
        : `${root} holds ${names.length} stacks (${names.join(', ')}); name one`,
    );
  const file = stacks.get(stackName);
  if (file === undefined) throw new Error(`no stack ${stackName} in ${root} (it has ${names.join(', ')})`);
  const template = JSON.parse(readFileSync(join(root, file), 'utf8')) as Template;
  if (typeof template.Resources !== 'object' || template.Resources === null)
    throw new Error(`${file} has no Resources`);
  const assetPaths = readAssetPaths(root, stackName);
  return {
    stackName,
    dir: root,
    template,
    codeDir(logicalId) {
      const resource = template.Resources[logicalId];
      if (!resource) return undefined;
      // `cdk synth` marks each asset-backed property with the folder it bundled.
      const fromMetadata = resource.Metadata?.['aws:asset:path'];
      if (typeof fromMetadata === 'string') return existing(join(root, fromMetadata));
      // Without asset metadata (`--no-asset-metadata`): match the S3 key to the asset manifest.
      const code = resource.Properties?.Code as { S3Key?: unknown } | undefined;
      if (typeof code?.S3Key === 'string') {
        const path = assetPaths.get(code.S3Key);
        if (path !== undefined) return existing(join(root, path));
      }
      return undefined;
    },
  };
}

function existing(path: string): string | undefined {
  return existsSync(path) ? path : undefined;
}

/** Stack name → template file, from `manifest.json` or else the `*.template.json` files. */
function listStacks(root: string): Map<string, string> {
  const stacks = new Map<string, string>();
  const manifestPath = join(root, 'manifest.json');
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
      const file = artifact.properties?.templateFile;
      if (artifact.type === 'aws:cloudformation:stack' && file) stacks.set(id, file);
    }
  }
  if (stacks.size === 0) {
    for (const file of readdirSync(root)) {
      const match = /^(.+)\.template\.json$/.exec(file);
      if (match?.[1]) stacks.set(match[1], file);
    }
  }
  return stacks;
}

/** Object key (`<hash>.zip`) → asset folder, from `<stack>.assets.json` if there is one. */
function readAssetPaths(root: string, stackName: string): Map<string, string> {
  const paths = new Map<string, string>();
  const file = join(root, `${stackName}.assets.json`);
  if (!existsSync(file)) return paths;
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as AssetManifest;
  for (const asset of Object.values(manifest.files ?? {})) {
    const path = asset.source?.path;
    if (!path) continue;
    for (const destination of Object.values(asset.destinations ?? {}))
      if (destination.objectKey) paths.set(destination.objectKey, path);
  }
  return paths;
}

/** What the resolver asks its caller for. */
export interface ResolveContext {
  /** The value of `{ Ref: logicalId }` for a resource or parameter of the template. */
  ref(logicalId: string): string;
  /** The value of `{ 'Fn::GetAtt': [logicalId, attribute] }`. */
  getAtt(logicalId: string, attribute: string): string;
  /** The value of a named condition. */
  condition(name: string): boolean;
  readonly region: string;
  readonly accountId: string;
  readonly stackName: string;
}

/** Marks a property that resolved to `AWS::NoValue`: it is dropped from its object or list. */
const NO_VALUE = Symbol('AWS::NoValue');

const PSEUDO: Record<string, (ctx: ResolveContext) => string> = {
  'AWS::Region': (ctx) => ctx.region,
  'AWS::AccountId': (ctx) => ctx.accountId,
  'AWS::StackName': (ctx) => ctx.stackName,
  'AWS::StackId': (ctx) =>
    `arn:aws:cloudformation:${ctx.region}:${ctx.accountId}:stack/${ctx.stackName}/00000000-0000-0000-0000-000000000000`,
  'AWS::Partition': () => 'aws',
  'AWS::URLSuffix': () => 'amazonaws.com',
};

/** Resolves every intrinsic function in `value`; the result is plain JSON. */
export function resolveValue(value: unknown, ctx: ResolveContext): unknown {
  const out = resolveInner(value, ctx);
  return out === NO_VALUE ? undefined : out;
}

/** Resolves `value`, which must come out a string. */
export function resolveString(value: unknown, ctx: ResolveContext, what: string): string {
  const out = resolveValue(value, ctx);
  if (typeof out === 'string') return out;
  if (typeof out === 'number' || typeof out === 'boolean') return String(out);
  throw new Error(`${what} resolved to ${JSON.stringify(out)}, not a string`);
}

function resolveInner(value: unknown, ctx: ResolveContext): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => resolveInner(v, ctx)).filter((v) => v !== NO_VALUE);
  }
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [only] = entries;
  if (
    entries.length === 1 &&
    only &&
    (only[0] === 'Ref' || only[0].startsWith('Fn::') || only[0] === 'Condition')
  )
    return intrinsic(only[0], only[1], ctx);
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    const r = resolveInner(v, ctx);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

function str(value: unknown, ctx: ResolveContext, fn: string): string {
  const out = resolveInner(value, ctx);
  if (typeof out === 'string') return out;
  if (typeof out === 'number') return String(out);
  throw new Error(`${fn}: expected a string, got ${JSON.stringify(out)}`);
}

function list(value: unknown, ctx: ResolveContext, fn: string): unknown[] {
  const out = resolveInner(value, ctx);
  if (!Array.isArray(out)) throw new Error(`${fn}: expected a list, got ${JSON.stringify(out)}`);
  return out;
}

function intrinsic(fn: string, arg: unknown, ctx: ResolveContext): unknown {
  switch (fn) {
    case 'Ref': {
      if (typeof arg !== 'string') throw new Error(`Ref of ${JSON.stringify(arg)}`);
      if (arg === 'AWS::NoValue') return NO_VALUE;
      if (arg === 'AWS::NotificationARNs') return [];
      const pseudo = PSEUDO[arg];
      return pseudo ? pseudo(ctx) : ctx.ref(arg);
    }
    case 'Fn::GetAtt': {
      const [id, ...attr] = typeof arg === 'string' ? arg.split('.') : list(arg, ctx, fn).map(String);
      if (!id || attr.length === 0) throw new Error(`Fn::GetAtt of ${JSON.stringify(arg)}`);
      return ctx.getAtt(id, attr.join('.'));
    }
    case 'Fn::Join': {
      const [sep, items] = list(arg, ctx, fn);
      if (typeof sep !== 'string' || !Array.isArray(items))
        throw new Error(`Fn::Join of ${JSON.stringify(arg)}`);
      return items
        .map((i) => (typeof i === 'string' || typeof i === 'number' ? String(i) : JSON.stringify(i)))
        .join(sep);
    }
    case 'Fn::Sub': {
      const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [unknown, unknown]);
      if (typeof text !== 'string') throw new Error(`Fn::Sub of ${JSON.stringify(arg)}`);
      const values = (resolveInner(vars ?? {}, ctx) ?? {}) as Record<string, unknown>;
      return text.replace(/\$\{(!?)([^}]+)\}/g, (_, bang: string, name: string) => {
        if (bang) return `\${${name}}`; // ${!Literal} is the literal ${Literal}
        if (name in values) return String(values[name]);
        const pseudo = PSEUDO[name];
        if (pseudo) return pseudo(ctx);
        const dot = name.indexOf('.');
        return dot < 0 ? ctx.ref(name) : ctx.getAtt(name.slice(0, dot), name.slice(dot + 1));
      });
    }
    case 'Fn::Select': {
      const [index, items] = list(arg, ctx, fn);
      const i = Number(index);
      if (!Array.isArray(items) || !Number.isInteger(i) || i < 0 || i >= items.length)
        throw new Error(`Fn::Select of ${JSON.stringify(arg)}`);
      return items[i];
    }
    case 'Fn::Split': {
      const [sep, text] = list(arg, ctx, fn);
      if (typeof sep !== 'string' || typeof text !== 'string')
        throw new Error(`Fn::Split of ${JSON.stringify(arg)}`);
      return text.split(sep);
    }
    case 'Fn::Base64':
      return Buffer.from(str(arg, ctx, fn)).toString('base64');
    case 'Fn::GetAZs':
      return ['a', 'b', 'c'].map((z) => `${ctx.region}${z}`);
    case 'Fn::If': {
      const [name, yes, no] = arg as [string, unknown, unknown];
      return resolveInner(ctx.condition(name) ? yes : no, ctx);
    }
    case 'Condition':
      return ctx.condition(String(arg));
    case 'Fn::Equals': {
      const [a, b] = list(arg, ctx, fn);
      return JSON.stringify(a) === JSON.stringify(b);
    }
    case 'Fn::And':
      return list(arg, ctx, fn).every((v) => v === true);
    case 'Fn::Or':
      return list(arg, ctx, fn).some((v) => v === true);
    case 'Fn::Not':
      return !list(arg, ctx, fn).every((v) => v === true);
    case 'Fn::Contains': {
      const [items, item] = list(arg, ctx, fn);
      return Array.isArray(items) && items.some((v) => JSON.stringify(v) === JSON.stringify(item));
    }
    default:
      throw new Error(`the Lambda runner does not resolve ${fn}`);
  }
}

/** The logical ids that `value` refers to (through `Ref`, `Fn::GetAtt` and `Fn::Sub`). */
export function referencedIds(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) referencedIds(v, into);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string' && !v.startsWith('AWS::')) into.add(v);
      else if (k === 'Fn::GetAtt') {
        const id = typeof v === 'string' ? v.split('.')[0] : Array.isArray(v) ? v[0] : undefined;
        if (typeof id === 'string') into.add(id);
      } else if (k === 'Fn::Sub') {
        const text = typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
        const vars = Array.isArray(v) && v[1] !== null && typeof v[1] === 'object' ? Object.keys(v[1]) : [];
        if (typeof text === 'string')
          for (const m of text.matchAll(/\$\{([^!}][^}.]*)[^}]*\}/g))
            if (m[1] && !m[1].startsWith('AWS::') && !vars.includes(m[1])) into.add(m[1]);
        if (Array.isArray(v)) referencedIds(v[1], into);
      } else referencedIds(v, into);
    }
  }
  return into;
}

/**
 * Multiplies the template's function timeouts (`Timeout`, default 3 s) and queue visibility
 * timeouts (`VisibilityTimeout`, default 30 s) by `factor`, rounded up to whole seconds (the
 * unit CloudFormation takes), in place: a test's stand-in for a stack synthesized for a slower
 * machine. Both scale by one factor, so each queue still outlasts the functions its mappings
 * invoke. Resources whose logical id starts with one of `keep` are left as written.
 */
export function scaleTimeouts(template: Template, factor: number, keep: readonly string[] = []): void {
  const defaults: Record<string, [key: string, seconds: number]> = {
    'AWS::Lambda::Function': ['Timeout', 3],
    'AWS::SQS::Queue': ['VisibilityTimeout', 30],
  };
  for (const [id, resource] of Object.entries(template.Resources)) {
    const scaled = defaults[resource.Type];
    if (scaled === undefined || keep.some((k) => id.startsWith(k))) continue;
    const [key, seconds] = scaled;
    const props = resource.Properties ?? {};
    const value = props[key] ?? seconds;
    if (typeof value !== 'number') continue;
    props[key] = Math.ceil(value * factor);
    (resource as { Properties?: Record<string, unknown> }).Properties = props;
  }
}
