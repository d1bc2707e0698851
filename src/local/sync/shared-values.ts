/** Local primitives: see src/api for their semantics. (Stub: to be built.) */
import type { PrimitiveModule } from '../../api/context.js';

export const sharedValues: PrimitiveModule<void> = { make: () => ({}), revive: {} };
