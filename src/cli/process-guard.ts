import { closeSync, openSync } from 'node:fs';
import { isatty } from 'node:tty';
import { ExitCode } from '../core/errors.js';
import { oneLine } from '../core/quote.js';
import { STOP_DRAIN_MS, STOP_SIGNALS, StopRequest, signalExitCode } from '../core/stop.js';

/**
 * The edges of the process that every command shares: stop signals, stdout and stderr failures, Node's
 * own warnings and uncaught errors. Whatever happens, stderr gets `memregion: ` lines only and the exit
 * code is a documented one.
 */
export interface ProcessGuard {
  /** Aborted (reason: a StopRequest naming the signal) at the first SIGINT, SIGTERM or SIGHUP. */
  readonly signal: AbortSignal;
  /** The signal that stopped the run, or null. */
  stoppedBy(): NodeJS.Signals | null;
  /** Waits until stdout has taken what was written (bounded once a stop signal arrived). */
  flush(): Promise<void>;
}

/** How many lines writeErrorLine has written: whether a stopped run has said what became of its output. */
let linesWritten = 0;

/** One line on stderr, control characters escaped. Never throws: after SIGHUP stderr may be gone. */
export function writeErrorLine(message: string): void {
  linesWritten += 1;
  try {
    process.stderr.write(`memregion: ${oneLine(message)}\n`);
  } catch {
    // nowhere left to say it
  }
}

const STOPPING: Record<string, string> = { SIGINT: 'interrupted', SIGTERM: 'terminated', SIGHUP: 'hangup' };

/**
 * Node restores the terminal's settings at exit and aborts when that fails (node.cc ResetStdio() asserts
 * that tcsetattr() worked), which it does, with EIO, once the terminal has hung up: a closed ssh session
 * or terminal window then ended memregion in a crash (SIGSEGV, a core dump) instead of 129. ResetStdio
 * skips a descriptor that is closed or no longer the file it was at start, so a dead terminal (isatty
 * fails on a hung-up tty) is swapped for /dev/null before Node gets there.
 */
function detachDeadTerminals(terminals: readonly number[]): void {
  for (const fd of terminals) {
    if (isatty(fd)) continue;
    try {
      closeSync(fd);
      // No dup2 in Node: open takes the lowest free descriptor, which is fd itself; else leave fd closed.
      const again = openSync('/dev/null', 'r+');
      if (again !== fd) closeSync(again);
    } catch {
      // Closed already: ResetStdio skips it too.
    }
  }
}

export function guardProcess(options: { verbose: boolean; quiet: boolean }): ProcessGuard {
  const terminals = [0, 1, 2].filter((fd) => isatty(fd));
  if (terminals.length > 0) process.on('exit', () => detachDeadTerminals(terminals));
  const controller = new AbortController();
  let stopped: NodeJS.Signals | null = null;
  let linesAtStop = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // A second signal exits at once (the `exit` hooks still remove trace probes).
    if (stopped) process.exit(signalExitCode(signal));
    stopped = signal;
    // Should the process end on its own from here (its event loop empty while main still awaits, e.g. on
    // output whose pipe handle Node does not keep alive), it still ends with the signal's code, never 0.
    process.exitCode = signalExitCode(signal);
    if (process.stderr.isTTY) process.stderr.write('\n');
    writeErrorLine(`${STOPPING[signal] ?? signal}: stopping (again to quit at once)`);
    linesAtStop = linesWritten;
    controller.abort(new StopRequest(signal));
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);

  // A reader that stops early (`| head`) closes stdout: the quiet 74. Any other failure (a full disk,
  // /dev/full, a terminal that went away) is lost output: one line and 74, never a silent 0. After a stop
  // signal the signal's code wins: the terminal closing is what made stdout fail.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (stopped) process.exit(signalExitCode(stopped));
    if (error.code !== 'EPIPE')
      writeErrorLine(`cannot write the output to stdout (${error.code ?? error.message})`);
    process.exit(ExitCode.IO_ERR);
  });
  process.stderr.on('error', () => {});

  // Node prints its warnings (TimeoutOverflowWarning, deprecations) raw on stderr: one prefixed line.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    // A plain Warning's name says nothing ("warning: Warning: ..."); a named one (TimeoutOverflowWarning) does.
    const name = warning.name === 'Warning' ? '' : `${warning.name}: `;
    if (!options.quiet) writeErrorLine(`warning: ${name}${warning.message}`);
  });
  const crash = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    writeErrorLine(
      `internal error: ${message.split('\n')[0]}${options.verbose ? '' : ' (--verbose shows the stack)'}`,
    );
    if (options.verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exit(ExitCode.SOFTWARE);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  return {
    signal: controller.signal,
    stoppedBy: () => stopped,
    flush: async () => {
      const before = stopped;
      const code = process.exitCode;
      // Write errors are emitted on a later tick, and a signal that came during synchronous work is read
      // from libuv's signal pipe only in a poll phase: two turns of the loop let both reach their handlers.
      await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
      if (process.stdout.writableLength > 0) {
        await new Promise<void>((resolve) => {
          process.stdout.once('drain', resolve);
          const bound = () => setTimeout(resolve, STOP_DRAIN_MS).unref();
          if (stopped) bound();
          else controller.signal.addEventListener('abort', bound, { once: true });
        });
        // Given up on a reader that took nothing after a stop signal: the output is incomplete, and the
        // run ends with the signal's code, never the 0 the command had returned before the signal came.
        // One line says so, unless the command said already what became of its output (collect's archive).
        if (stopped && process.stdout.writableLength > 0) {
          if (linesWritten === linesAtStop) writeErrorLine('interrupted: the output on stdout is incomplete');
          process.exit(signalExitCode(stopped));
        }
      }
      // A signal that came while the command ran synchronously (a huge --root tree parsed, a report of
      // megabytes rendered) is taken in only now, after main chose its exit code: it said "stopping", so
      // the run ends with the signal's code, as one taken in earlier would, not with the command's 0.
      if (before === null && stopped !== null && (code === ExitCode.OK || code === undefined))
        process.exit(signalExitCode(stopped));
    },
  };
}
