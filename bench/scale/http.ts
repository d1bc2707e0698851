/**
 * The counting proxy's HTTP side (`proxy.ts`): which service and operation a request is (by its
 * `X-Amz-Target`, the Invoke API's path, or S3's method and path), and forwarding a buffered
 * request to the emulator or the Invoke API.
 */
import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';

/** The AWS services the bench counts. */
export type Service = 'DynamoDB' | 'SQS' | 'S3' | 'Lambda' | 'other';

/** Where the Lambda Invoke API is: requests under this path go there. */
export const LAMBDA_PATH = '/2015-03-31/functions/';

/** A buffered answer. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Service and operation of a request. */
export function classify(
  req: IncomingMessage,
  url: string,
  toLambda: boolean,
  label: ((name: string) => string) | undefined,
): { service: Service; operation: string } {
  if (toLambda) {
    const name = decodeURIComponent(url.slice(LAMBDA_PATH.length).split('/')[0] ?? '');
    const async = String(req.headers['x-amz-invocation-type'] ?? '') === 'Event';
    return { service: 'Lambda', operation: `Invoke ${label ? label(name) : name}${async ? ' (async)' : ''}` };
  }
  const target = String(req.headers['x-amz-target'] ?? '');
  if (target.startsWith('DynamoDB_')) return { service: 'DynamoDB', operation: target.split('.')[1]! };
  if (target.startsWith('AmazonSQS.')) return { service: 'SQS', operation: target.split('.')[1]! };
  const [path, query = ''] = url.split('?');
  const parts = (path ?? '/').split('/').filter(Boolean);
  const hasKey = parts.length > 1;
  const m = req.method ?? 'GET';
  const op =
    m === 'PUT' && hasKey
      ? 'PutObject'
      : m === 'GET' && hasKey
        ? req.headers.range
          ? 'GetObject (range)'
          : 'GetObject'
        : m === 'HEAD' && hasKey
          ? 'HeadObject'
          : m === 'DELETE' && hasKey
            ? 'DeleteObject'
            : m === 'GET' && /(^|&)list-type=2/.test(query)
              ? 'ListObjectsV2'
              : m === 'POST' && /(^|&)delete/.test(query)
                ? 'DeleteObjects'
                : `${m} bucket`;
  return { service: 'S3', operation: op };
}

/** The whole body of a request or an answer. */
export function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });
}

/** Sends the request on to `target` and buffers the answer. */
export function forward(target: string, req: IncomingMessage, body: Buffer): Promise<Answer> {
  const to = new URL(target);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = String(v);
  headers.host = to.host;
  // The whole body is in hand: nothing to wait for.
  delete headers.expect;
  return new Promise((resolve, reject) => {
    const out = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers },
      (res) => {
        readAll(res).then((b) => {
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined || k === 'transfer-encoding' || k === 'connection') continue;
            h[k] = Array.isArray(v) ? v.join(', ') : String(v);
          }
          h['content-length'] = String(b.length);
          resolve({ status: res.statusCode ?? 502, headers: h, body: b });
        }, reject);
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}
