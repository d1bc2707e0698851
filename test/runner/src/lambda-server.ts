/**
 * The Lambda Invoke API on 127.0.0.1: `POST /2015-03-31/functions/{name}/invocations`, enough for
 * the real `@aws-sdk/client-lambda` `InvokeCommand` with `endpoint` set. RequestResponse answers
 * 200 with the payload (and `X-Amz-Function-Error: Unhandled` with Lambda's error payload when the
 * function failed); Event answers 202 and runs the invocation in the background (with Lambda's
 * retries and destinations, `async-invoke.ts`, when the runner passes `runAsync`); DryRun answers
 * 204. Errors use Lambda's codes: ResourceNotFoundException (404), InvalidRequestContentException
 * (400), RequestTooLargeException (413), TooManyRequestsException (429). Request signatures are
 * not checked. The same server answers CloudFormation's DescribeStacks for the deployed stack.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleCloudFormation } from './cloudformation.js';
import type { DeployedStack } from './resources.js';
import { type FunctionSandbox, ThrottledError } from './sandbox.js';

/** Lambda's payload limits: RequestResponse 6 MB, Event 1 MB. */
export const MAX_SYNC_REQUEST_BYTES = 6_291_456;
export const MAX_ASYNC_REQUEST_BYTES = 1_048_576;

const ROUTE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** A running Invoke API. */
export interface LambdaServer {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Invocations of type Event still running. */
  readonly background: ReadonlySet<Promise<unknown>>;
  /** Closes the server and every connection. */
  close(): Promise<void>;
}

/** Looks a function up by name, ARN or partial ARN; undefined when the stack has none. */
export type FunctionLookup = (nameOrArn: string) => FunctionSandbox | undefined;

/** The function name inside any of the forms Invoke accepts, with its qualifier if any. */
export function parseFunctionName(raw: string): { name: string; qualifier: string | undefined } {
  const parts = raw.split(':');
  // arn:aws:lambda:region:account:function:name[:qualifier]
  if (parts[0] === 'arn') return { name: parts[6] ?? '', qualifier: parts[7] };
  // account:function:name[:qualifier]
  if (parts[1] === 'function') return { name: parts[2] ?? '', qualifier: parts[3] };
  return { name: parts[0] ?? '', qualifier: parts[1] };
}

/** Starts the server on a free port of 127.0.0.1. */
export async function startLambdaServer(
  lookup: FunctionLookup,
  options: {
    region: string;
    accountId: string;
    onBackgroundError?: (error: unknown) => void;
    /** Also answer CloudFormation's DescribeStacks (`POST /`) for this stack. */
    stack?: DeployedStack;
    /**
     * Runs an accepted Event invocation (retries, destinations: `AsyncInvocations`).
     * @default one attempt, its failure dropped
     */
    runAsync?: (sandbox: FunctionSandbox, payload: string, clientContext: unknown) => void;
  },
): Promise<LambdaServer> {
  const created = new Date();
  const background = new Set<Promise<unknown>>();
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent)
        sendError(res, 500, 'ServiceException', e instanceof Error ? e.message : String(e));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const match = ROUTE.exec(url.pathname);
    if (req.method === 'POST' && url.pathname === '/' && options.stack) {
      const body = await readBody(req, MAX_SYNC_REQUEST_BYTES);
      handleCloudFormation(body?.toString('utf8') ?? '', options.stack, created, res);
      return;
    }
    if (req.method !== 'POST' || !match) {
      req.resume();
      sendError(
        res,
        404,
        'UnknownOperationException',
        `The runner serves only Invoke, not ${req.method} ${url.pathname}`,
      );
      return;
    }
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    const limit = type === 'Event' ? MAX_ASYNC_REQUEST_BYTES : MAX_SYNC_REQUEST_BYTES;
    const body = await readBody(req, limit);
    const raw = decodeURIComponent(match[1] ?? '');
    const { name, qualifier: inName } = parseFunctionName(raw);
    const qualifier = url.searchParams.get('Qualifier') ?? inName;
    const sandbox = lookup(name);
    const arn = `arn:aws:lambda:${options.region}:${options.accountId}:function:${name}`;
    if (!sandbox || (qualifier !== undefined && qualifier !== '$LATEST')) {
      sendError(
        res,
        404,
        'ResourceNotFoundException',
        `Function not found: ${arn}${qualifier ? `:${qualifier}` : ''}`,
      );
      return;
    }
    if (body === undefined) {
      const what = type === 'Event' ? 'InvokeAsync' : 'InvokeFunction';
      sendError(
        res,
        413,
        'RequestTooLargeException',
        `Request must be smaller than ${limit} bytes for the ${what} operation`,
      );
      return;
    }
    // An empty payload is the event {}; anything else must be JSON.
    const payload = body.length === 0 ? '{}' : body.toString('utf8');
    try {
      JSON.parse(payload);
    } catch {
      sendError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
      return;
    }
    const clientContext = decodeClientContext(req.headers['x-amz-client-context']);
    switch (type) {
      case 'DryRun':
        res.writeHead(204, { 'x-amzn-RequestId': randomUUID() }).end();
        return;
      case 'Event': {
        if (options.runAsync) options.runAsync(sandbox, payload, clientContext);
        else {
          const run = sandbox
            .invoke(payload, { clientContext, async: true })
            .catch((e: unknown) => options.onBackgroundError?.(e))
            .finally(() => background.delete(run));
          background.add(run);
        }
        res.writeHead(202, { 'x-amzn-RequestId': randomUUID(), 'Content-Length': '0' }).end();
        return;
      }
      case 'RequestResponse': {
        let outcome: Awaited<ReturnType<FunctionSandbox['invoke']>>;
        try {
          outcome = await sandbox.invoke(payload, { throttle: true, clientContext });
        } catch (e) {
          if (e instanceof ThrottledError) {
            sendError(res, 429, 'TooManyRequestsException', 'Rate Exceeded.', {
              Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
            });
            return;
          }
          throw e;
        }
        const headers: Record<string, string> = {
          'Content-Type': 'application/json',
          'Content-Length': String(Buffer.byteLength(outcome.payload)),
          'X-Amz-Executed-Version': '$LATEST',
          'x-amzn-RequestId': outcome.requestId,
        };
        if (outcome.functionError) headers['X-Amz-Function-Error'] = outcome.functionError;
        if (req.headers['x-amz-log-type'] === 'Tail')
          headers['X-Amz-Log-Result'] = Buffer.from(outcome.logTail).toString('base64');
        res.writeHead(200, headers).end(outcome.payload);
        return;
      }
      default:
        sendError(res, 400, 'InvalidParameterValueException', `Unknown InvocationType ${type}`);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    background,
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The body, or undefined when it is over `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep reading (and dropping) so that the client sees the answer, not a reset.
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}

function decodeClientContext(header: string | string[] | undefined): unknown {
  if (typeof header !== 'string') return undefined;
  try {
    return JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
}

function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  const body = JSON.stringify({ Type: status >= 500 ? 'Service' : 'User', message, ...extra });
  res
    .writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body)),
      'x-amzn-ErrorType': code,
      'x-amzn-RequestId': randomUUID(),
    })
    .end(body);
}
