import { CommanderError } from '@commander-js/extra-typings';
import { guardProcess, writeErrorLine } from './cli/process-guard.js';
import { runCommandLine, usageHelpLine } from './cli/program.js';
import { ExitCode, MemregionError } from './core/errors.js';
import { signalExitCode } from './core/stop.js';

/**
 * Entry point: parse, run, and turn every failure into one line on stderr and a sysexits code. SIGINT,
 * SIGTERM and SIGHUP abort the work (commands print what they have; exit 128 + the signal); a second
 * signal exits at once.
 */
export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  const quiet = argv.includes('-q') || argv.includes('--quiet');
  const guard = guardProcess({ verbose, quiet });
  let exitCode: number = ExitCode.OK;
  // Stack traces (shown with --verbose only) then point into src/, not into the bundle.
  if (verbose) process.setSourceMapsEnabled(true);
  try {
    await runCommandLine(argv, guard.signal, (code) => {
      exitCode = code;
    });
  } catch (error) {
    if (error instanceof CommanderError && error.code === 'commander.help' && error.exitCode !== 0)
      writeErrorLine(usageHelpLine(argv));
    exitCode = reportError(error, verbose);
  }
  // A run that a signal stopped ends with 128 + that signal, unless it failed for a reason of its own.
  const stopped = guard.stoppedBy();
  if (stopped && (exitCode === ExitCode.OK || exitCode === ExitCode.INTERRUPTED))
    exitCode = signalExitCode(stopped);
  // The code stands even if the process ends on its own while stdout drains.
  process.exitCode = exitCode;
  await guard.flush();
  return exitCode;
}

function reportError(error: unknown, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // Asked-for help and --version end with 0; help shown for a missing command, and every parse error,
    // are usage errors (commander already said it).
    return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
  }
  if (error instanceof MemregionError) {
    writeErrorLine(error.message);
    if (verbose && error.cause instanceof Error && error.cause.stack)
      process.stderr.write(`${error.cause.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  writeErrorLine(`internal error: ${message.split('\n')[0]}${verbose ? '' : ' (--verbose shows the stack)'}`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return ExitCode.SOFTWARE;
}
