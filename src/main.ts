import { CommanderError } from '@commander-js/extra-typings';
import { buildProgram } from './cli/program.js';
import { ExitCode, MemregionError } from './core/errors.js';
import { escapeControl } from './core/quote.js';

/**
 * Entry point: parse, run, and turn every failure into one line on stderr and a sysexits code. Ctrl-C
 * aborts the work (commands print what they have, exit 130); a second Ctrl-C exits at once.
 */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts > 1) process.exit(ExitCode.INTERRUPTED);
    process.stderr.write(
      `\nmemregion: ${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: stopping (again to quit at once)\n`,
    );
    controller.abort();
  };
  // A reader that stops early (`| head`) closes stdout: stop quietly, no stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(ExitCode.IO_ERR);
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let exitCode: number = ExitCode.OK;
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  // Stack traces (shown with --verbose only) then point into src/, not into the bundle.
  if (verbose) process.setSourceMapsEnabled(true);
  try {
    const program = buildProgram(controller.signal, (code) => {
      exitCode = code;
    });
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    exitCode = reportError(error, verbose);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exitCode;
}

function reportError(error: unknown, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // Help and version end with code 0; every parse error is a usage error (commander already said it).
    // Asked-for help and --version end with 0; help shown for a missing command, and every parse error,
    // are usage errors.
    return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
  }
  if (error instanceof MemregionError) {
    process.stderr.write(`memregion: ${escapeControl(error.message)}\n`);
    if (verbose && error.cause instanceof Error && error.cause.stack)
      process.stderr.write(`${error.cause.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `memregion: internal error: ${escapeControl(message.split('\n')[0]!)}${verbose ? '' : ' (--verbose shows the stack)'}\n`,
  );
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return ExitCode.SOFTWARE;
}

process.exitCode = await main(process.argv.slice(2));
