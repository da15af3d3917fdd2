import { constants } from 'node:os';
import { ExitCode, MemregionError } from './errors.js';

/** The signals that stop a run: Ctrl-C, kill, and the terminal or ssh session closing. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Once a stop signal came, how long output (the report so far, on stdout or a FIFO given as --output)
 * may wait for a reader that takes nothing: a reader that does not read must not need a second signal.
 */
export const STOP_DRAIN_MS = 500;

/**
 * The reason of the AbortSignal that main aborts when a stop signal arrives: which signal it was, so that
 * a command, a backend or a trace relay can stop cleanly and the process can exit with 128 + its number.
 */
export class StopRequest extends Error {
  readonly signal: NodeJS.Signals;

  constructor(signal: NodeJS.Signals) {
    super(`stopped by ${signal}`);
    this.name = 'AbortError';
    this.signal = signal;
  }
}

/** The signal that stopped the run behind `signal`, or null (not aborted, or aborted for another reason). */
export function stoppedBy(signal: AbortSignal): NodeJS.Signals | null {
  return signal.aborted && signal.reason instanceof StopRequest ? signal.reason.signal : null;
}

/** 128 + the signal's number, as a shell reports a process that a signal ended (SIGHUP 129, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  const number = (constants.signals as Record<string, number | undefined>)[signal];
  return number === undefined ? ExitCode.INTERRUPTED : 128 + number;
}

/** The exit code of a run that `signal` stopped: 128 + the signal, 130 when nothing says which. */
export function interruptedExitCode(signal: AbortSignal): number {
  const by = stoppedBy(signal);
  return by ? signalExitCode(by) : ExitCode.INTERRUPTED;
}

/**
 * `work`, or an INTERRUPTED error saying `message` as soon as `signal` is aborted (at once when it already
 * is): for a wait that cannot itself be stopped (one emulated firmware call of hours, a write to a pipe
 * nobody reads), so that the first Ctrl-C still ends the run promptly. The work is left to the exit.
 */
export function unlessStopped<T>(
  work: Promise<T>,
  signal: AbortSignal,
  message: string | (() => MemregionError),
): Promise<T> {
  // A function says it as it stands when the signal comes (which step it found running).
  const stopped = () =>
    typeof message === 'string' ? new MemregionError(message, ExitCode.INTERRUPTED) : message();
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(stopped());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(stopped());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
