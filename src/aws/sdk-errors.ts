/**
 * The one place where an AWS SDK error becomes fanfold's: at the boundary between the caller's
 * engine and its AWS adapters (the job store, the blob store, the stack lookup), each method's
 * failure that is not already a {@link FanfoldError} is wrapped once in {@link AwsError}, which
 * says what fanfold was doing and keeps the SDK's error as `cause`. The adapters themselves keep
 * the SDK's errors (they map conditional-check failures to outcomes and let the SDK retry). The AWS
 * context's primitives are wrapped the same way, where the caller or a task receives them.
 */
import { AwsError, FanfoldError } from '../errors.js';

/** `e` as the user may see it: a {@link FanfoldError} as it is, anything else wrapped in {@link AwsError}. */
export function asFanfoldError(operation: string, e: unknown): FanfoldError {
  return e instanceof FanfoldError ? e : new AwsError(operation, e);
}

/** Options of {@link withAwsErrors}. */
export interface AwsErrorsOptions {
  /**
   * A method's result (or resolved value) for which this gives a name is wrapped the same way under
   * that name (a Manager's list, a Pipe's two ends). @default none
   */
  readonly alsoWrap?: (value: unknown) => string | undefined;
  /**
   * Wrap only the SDK's own errors (those carrying its `$metadata`), passing any other through as
   * it is: for methods that run the caller's code (a primitive's `withLock(fn)` rethrows what `fn`
   * threw). @default false (everything that is not a FanfoldError is wrapped)
   */
  readonly sdkOnly?: boolean;
}

/** True for an error the AWS SDK raised (a service's answer, or a request that could not be made). */
function isSdkError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && '$metadata' in e;
}

/**
 * Each object's wrapper, so that the same object always gets the same one (a primitive a method
 * returns is the one the caller holds), and the wrappers themselves (never wrapped twice).
 */
const wrappers = new WeakMap<object, object>();
const proxies = new WeakSet<object>();

/**
 * `target` with each method's rejection (or throw) passed through {@link asFanfoldError}, the
 * operation named as `<what> <method>(<first argument, when a string>)`: "the DynamoDB job store
 * getJob(9f2c…)". Methods run on the target itself, so its private fields work as before.
 */
export function withAwsErrors<T extends object>(target: T, what: string, options: AwsErrorsOptions = {}): T {
  const { alsoWrap, sdkOnly = false } = options;
  const known = wrappers.get(target);
  if (known !== undefined) return known as T;
  if (proxies.has(target)) return target;
  const wrap = <V>(v: V): V => {
    const name = alsoWrap?.(v);
    return name === undefined || typeof v !== 'object' || v === null ? v : withAwsErrors(v, name, options);
  };
  const fail = (operation: () => string, e: unknown): never => {
    throw sdkOnly && !isSdkError(e) ? e : asFanfoldError(operation(), e);
  };
  const proxy = new Proxy(target, {
    get(t, prop) {
      const v: unknown = Reflect.get(t, prop, t);
      if (typeof v !== 'function') return v;
      // A proxy must answer a frozen own property with its very value (a primitive's mark).
      const own = Reflect.getOwnPropertyDescriptor(t, prop);
      if (own && !own.configurable && !own.writable) return v;
      const method = v as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const operation = () => `${what} ${String(prop)}${typeof args[0] === 'string' ? `(${args[0]})` : ''}`;
        try {
          const out = method.apply(t, args);
          if (out instanceof Promise) return out.then(wrap, (e: unknown) => fail(operation, e));
          return Array.isArray(out) ? out.map(wrap) : wrap(out);
        } catch (e) {
          return fail(operation, e);
        }
      };
    },
  });
  wrappers.set(target, proxy);
  proxies.add(proxy);
  return proxy;
}
