/** AWS primitives: see src/api for their semantics. (Stub: to be built.) */
import type { PrimitiveModule } from '../../api/context.js';
import type { AwsSyncEnv } from './env.js';

export const queues: PrimitiveModule<AwsSyncEnv> = { make: () => ({}), revive: {} };
