// The runtime inside one sandbox container (a child process forked by sandbox.ts), in the role of
// Lambda's Node.js runtime: it imports the handler named by _HANDLER from LAMBDA_TASK_ROOT once,
// then runs one invocation at a time as the parent asks over IPC, and reports each result or error
// in Lambda's shapes. Plain JavaScript, so that no loader is needed to start it.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

// Lambda's runtime provides the AWS SDK to bundles that leave `@aws-sdk/*` external (CDK's default
// for Node runtimes). A bundle inside the project resolves it from the project's node_modules on
// its own; this hook does the same for bundles elsewhere (a cloud assembly in a temp folder).
const sdkRoot = process.env.FANFOLD_RUNNER_SDK_ROOT;
if (sdkRoot) {
  const hook = `
    export async function resolve(specifier, context, next) {
      try { return await next(specifier, context); }
      catch (e) {
        if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !/^@(aws-sdk|smithy|aws-crypto)\\//.test(specifier)) throw e;
        return next(specifier, { ...context, parentURL: ${JSON.stringify(pathToFileURL(`${sdkRoot}/`).href)} });
      }
    }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
}

/** @type {string | undefined} the request id of the invocation in progress */
let current;

function send(message) {
  return new Promise((resolve) => {
    if (!process.connected) return resolve(undefined);
    process.send(message, undefined, undefined, () => resolve(undefined));
  });
}

/** Lambda's error payload for a thrown value. */
function errorPayload(error, errorType) {
  if (error instanceof Error) {
    return {
      errorType: errorType ?? error.name ?? 'Error',
      errorMessage: error.message,
      trace: String(error.stack ?? '').split('\n'),
    };
  }
  return { errorType: errorType ?? typeof error, errorMessage: String(error), trace: [] };
}

// Like Lambda's runtime: an error that escapes the handler fails the invocation in progress and
// ends the process; the next invocation gets a fresh container.
async function die(error, errorType) {
  await send({ type: 'fatal', id: current, error: errorPayload(error, errorType) });
  process.exit(129);
}
process.on('uncaughtException', (e) => void die(e));
// The test process is gone (a frozen container is killed by the runner's reaper instead).
process.on('disconnect', () => process.exit(0));
process.on('unhandledRejection', (e) => void die(e, 'Runtime.UnhandledPromiseRejection'));

async function loadHandler() {
  const root = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
  const spec = process.env._HANDLER ?? 'index.handler';
  const dot = spec.lastIndexOf('.');
  const modulePath = spec.slice(0, dot);
  const exportName = spec.slice(dot + 1);
  const { existsSync } = await import('node:fs');
  const file = ['.js', '.mjs', '.cjs'].map((ext) => `${root}/${modulePath}${ext}`).find((f) => existsSync(f));
  if (!file) {
    const e = new Error(`Cannot find module '${modulePath}'`);
    e.name = 'Runtime.ImportModuleError';
    throw e;
  }
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (cause) {
    const e = new Error(`Error: ${cause?.message ?? cause}`);
    e.name = 'Runtime.ImportModuleError';
    e.stack = cause?.stack ?? e.stack;
    throw e;
  }
  // A CommonJS bundle's exports arrive as the ES module's default.
  const fn = mod[exportName] ?? mod.default?.[exportName];
  if (typeof fn !== 'function') {
    const e = new Error(`${spec} is undefined or not exported`);
    e.name = 'Runtime.HandlerNotFound';
    throw e;
  }
  return fn;
}

/** Runs a handler in either style: async, or with a callback (the third argument). */
function call(handler, event, context) {
  if (handler.length < 3) return Promise.resolve().then(() => handler(event, context));
  return new Promise((resolve, reject) => {
    const callback = (error, result) => (error ? reject(error) : resolve(result));
    const out = handler(event, context, callback);
    if (out && typeof out.then === 'function') out.then(resolve, reject);
  });
}

let handler;
try {
  handler = await loadHandler();
  await send({ type: 'ready' });
} catch (e) {
  await send({ type: 'init-error', error: errorPayload(e, e?.name) });
  process.exit(1);
}

process.on('message', async (message) => {
  if (message?.type !== 'invoke') return;
  const { id, payload, context: c } = message;
  current = id;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: c.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: c.invokedFunctionArn,
    memoryLimitInMB: String(c.memoryLimitInMB),
    awsRequestId: id,
    logGroupName: `/aws/lambda/${c.functionName}`,
    logStreamName: c.logStreamName,
    clientContext: c.clientContext,
    identity: undefined,
    getRemainingTimeInMillis: () => Math.max(0, c.deadlineMs - Date.now()),
  };
  let reply;
  try {
    const event = JSON.parse(payload);
    const result = await call(handler, event, context);
    reply = { type: 'result', id, payload: JSON.stringify(result) ?? 'null' };
  } catch (e) {
    reply = { type: 'error', id, error: errorPayload(e) };
  }
  current = undefined;
  await send(reply);
});
