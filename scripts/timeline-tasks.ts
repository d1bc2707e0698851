/** The tasks of `scripts/timeline-doc.ts`: chunks that spin, one that crashes its thread once. */
import { existsSync, writeFileSync } from 'node:fs';
import { defineTasks } from 'fanfold';

export default defineTasks({
  /** Spins `ms`; with `crash` (a file path) kills its thread the first time, so the chunk is redelivered. */
  work: (w: { ms: number; crash?: string }): number => {
    if (w.crash && !existsSync(w.crash)) {
      writeFileSync(w.crash, '');
      process.exit(7);
    }
    const end = Date.now() + w.ms;
    while (Date.now() < end);
    return w.ms;
  },
});
