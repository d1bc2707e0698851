/**
 * The one place where an AWS SDK error becomes fanfold's: at the boundary between the caller's
 * engine and its AWS adapters (the job store, the blob store, the stack lookup), each method's
 * failure that is not already a {@link FanfoldError} is wrapped once in {@link AwsError}, which
 * says what fanfold was doing and keeps the SDK's error as `cause`. The adapters themselves keep
 * the SDK's errors (they map conditional-check failures to outcomes and let the SDK retry).
 */
import { AwsError, FanfoldError } from '../errors.js';

/** `e` as the user may see it: a {@link FanfoldError} as it is, anything else wrapped in {@link AwsError}. */
export function asFanfoldError(operation: string, e: unknown): FanfoldError {
  return e instanceof FanfoldError ? e : new AwsError(operation, e);
}

/**
 * `target` with each method's rejection (or throw) passed through {@link asFanfoldError}, the
 * operation named as `<what> <method>(<first argument, when a string>)`: "the DynamoDB job store
 * getJob(9f2c…)".
 */
export function withAwsErrors<T extends object>(target: T, what: string): T {
  return new Proxy(target, {
    get(t, prop) {
      const v: unknown = Reflect.get(t, prop, t);
      if (typeof v !== 'function') return v;
      const method = v as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const operation = () => `${what} ${String(prop)}${typeof args[0] === 'string' ? `(${args[0]})` : ''}`;
        try {
          const out = method.apply(t, args);
          return out instanceof Promise
            ? out.catch((e: unknown) => {
                throw asFanfoldError(operation(), e);
              })
            : out;
        } catch (e) {
          throw asFanfoldError(operation(), e);
        }
      };
    },
  });
}
