import type { Confirm } from '../backends/types.js';
import { ExitCode, MemregionError } from '../core/errors.js';

/**
 * Confirmation for destructive actions: `--yes` answers for the user; otherwise a prompt on a terminal,
 * and a refusal (exit 64) when stdin is not one, so that a script never blocks or proceeds unasked.
 */
export function confirmation(yes: boolean, signal: AbortSignal): Confirm {
  return async (question) => {
    if (yes) return true;
    if (!process.stdin.isTTY) {
      const action = question.split('?')[0]!.trim();
      throw new MemregionError(
        `refusing without confirmation: ${action} (stdin is not a terminal: pass --yes)`,
        ExitCode.USAGE,
      );
    }
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await rl.question(`${question} [y/N] `, { signal });
      return /^y(es)?$/i.test(answer.trim());
    } catch {
      return false;
    } finally {
      rl.close();
    }
  };
}
