import { isatty } from 'node:tty';
import type { Confirm } from '../backends/types.js';
import { ExitCode, MemregionError } from '../core/errors.js';
import { signalExitCode, stoppedBy } from '../core/stop.js';

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
    tolerateHangupInRawMode(process.stdin);
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    // In the prompt's raw mode Ctrl-C is a keypress, not a signal: make it the SIGINT it means, so that it
    // ends the run as Ctrl-C does anywhere else (130), not as a "no" (64).
    rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
    // End of input (Ctrl-D, a terminal that hung up, a read error) answers "no": readline's question would
    // never settle then, and the process would end with 0 (or 70) having asked nothing.
    const inputEnded = new Promise<never>((_resolve, reject) => {
      rl.once('close', () => reject(new Error('input ended')));
      process.stdin.once('error', reject);
    });
    try {
      const answer = await Promise.race([rl.question(`${question} [y/N] `, { signal }), inputEnded]);
      return /^y(es)?$/i.test(answer.trim());
    } catch (error) {
      // A terminal that hung up stops the run as its SIGHUP would, whichever of the two comes first.
      const by = stoppedBy(signal) ?? (isatty(0) ? null : 'SIGHUP');
      if (by)
        throw new MemregionError('stopped at the confirmation: nothing was done', signalExitCode(by), {
          cause: error,
        });
      return false;
    } finally {
      rl.close();
    }
  };
}

/**
 * readline leaves raw mode when its input ends, inside the stream's 'end' event, where the EIO that
 * setRawMode() throws on a terminal that hung up would be an uncaught exception (exit 70): on a dead
 * terminal there is nothing left to restore.
 */
function tolerateHangupInRawMode(input: typeof process.stdin): void {
  const setRawMode = input.setRawMode?.bind(input);
  if (!setRawMode) return;
  input.setRawMode = (mode: boolean) => {
    try {
      return setRawMode(mode);
    } catch (error) {
      if (isatty(0)) throw error;
      return input;
    }
  };
}
