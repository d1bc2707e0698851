/**
 * An esbuild plugin of the local bundler (`bundle.ts`) for fanfold's optional peer dependencies.
 */
import type { Plugin } from 'esbuild';

/** Marks the plugin's own look-up, so that it does not see itself. */
const OWN_LOOKUP = Symbol('fanfold-optional-peers');

/**
 * Leaves an `@aws-sdk/*` import that does not resolve (the SDK is an optional peer dependency, not
 * installed by a local-only user) an import for Node, instead of failing the bundle: `'fanfold'`
 * reaches the AWS context's modules through `import()` only, so a thread never loads them, and
 * `aws()` turns the import's failure into `MissingDependencyError` (src/aws/sdk.ts).
 */
export function optionalPeersPlugin(): Plugin {
  return {
    name: 'fanfold-optional-peers',
    setup(b) {
      b.onResolve({ filter: /^@aws-sdk\// }, async (args) => {
        // A plugin's own look-up (this one's, or another's probing the same path): answer it as
        // esbuild would, or two probing plugins would call each other for ever.
        if (args.pluginData !== undefined) return undefined;
        const found = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: OWN_LOOKUP,
        });
        return found.errors.length > 0 ? { path: args.path, external: true } : undefined;
      });
    },
  };
}
