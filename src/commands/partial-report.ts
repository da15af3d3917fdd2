import type { Context } from '../cli/context.js';
import { MemregionError } from '../core/errors.js';
import { emit } from '../core/output.js';

/**
 * A destructive flow that failed part-way (an erase that timed out, a commit the kernel refused) still
 * prints its JSON report (`ok: false`, what happened) before the error line, as stress does; on a
 * terminal the error line says it all. An input error (before anything was written) prints nothing.
 */
export async function withPartialReport<Report extends object>(
  context: Context,
  render: (report: Report) => string,
  run: () => Promise<Report>,
): Promise<Report> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof MemregionError && error.partial && context.format === 'json') {
      const partial = error.partial as Report;
      await emit({ json: partial, human: () => render(partial) }, context);
    }
    throw error;
  }
}
