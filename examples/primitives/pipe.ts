/**
 * A Pipe message from a child (CPython: `parent_conn, child_conn = Pipe()`; the child sends
 * `[42, None, 'hello']`).
 *
 *   node --import tsx examples/primitives/pipe.ts
 */
import { mp } from './context.js';

const [parentConn, childConn] = mp.Pipe();
const p = mp.Process('sendHello', [childConn]);
await p.start();
console.log(await parentConn.recv()); // [ 42, null, 'hello' ]
await p.join();
if (p.exitCode !== 0) {
  console.error(p.error);
  process.exitCode = 1;
}
await parentConn.close();
