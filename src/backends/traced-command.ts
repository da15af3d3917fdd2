import { ExitCode, MemregionError } from '../core/errors.js';
import { quote } from '../core/quote.js';
import { signalExitCode } from '../core/stop.js';

/** What execa says of a command that ended (reject: false). */
export interface CommandResult {
  exitCode?: number;
  signal?: string;
  code?: string;
}

/** How `trace -- command` saw its command end: the code trace exits with, and the signal that killed it. */
export interface CommandEnd {
  exitCode: number;
  signal: string | null;
}

/**
 * The traced command's end as a shell would report it: its exit code, or 128 + the signal that killed it.
 * A command that never started is an error with the codes of env(1), timeout(1) and nice(1), which users
 * of a command wrapper already know: 127 when there is no such command, 126 when it exists but cannot be
 * executed (a directory, no execute bit, an argument list too long). 69 here would read as "no
 * invalidation provider".
 */
export function commandEnd(file: string, result: CommandResult): CommandEnd {
  if (result.exitCode !== undefined) return { exitCode: result.exitCode, signal: null };
  if (result.signal)
    return { exitCode: signalExitCode(result.signal as NodeJS.Signals), signal: result.signal };
  // An empty name is refused by Node before any exec (ERR_INVALID_ARG_VALUE); env(1) calls it not found.
  if (result.code === 'ENOENT' || file === '') {
    throw new MemregionError(`cannot run ${quote(file)}: command not found`, ExitCode.COMMAND_NOT_FOUND);
  }
  throw new MemregionError(
    `cannot run ${quote(file)}: found but cannot be executed (${result.code ?? 'failed to start'})`,
    ExitCode.COMMAND_NOT_EXECUTABLE,
  );
}
