/** sysexits(3) codes used by the command-line contract (DESIGN §5). */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 64,
  DATA_ERR: 65,
  NO_INPUT: 66,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CANT_CREAT: 73,
  IO_ERR: 74,
  TEMP_FAIL: 75,
  NO_PERM: 77,
  /** `trace -- command` whose command exists but cannot be executed, as env(1) and timeout(1) say it. */
  COMMAND_NOT_EXECUTABLE: 126,
  /** `trace -- command` whose command does not exist, as env(1) and timeout(1) say it. */
  COMMAND_NOT_FOUND: 127,
  /** 128 + SIGINT; a run stopped by another signal ends with 128 + that signal (core/stop.ts). */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error meant for the user: one line of text and the exit code that goes with it. */
export class MemregionError extends Error {
  readonly exitCode: number;
  /**
   * The result so far of a run that failed part-way (an erase that timed out or was interrupted): the
   * command prints it as its report (`ok: false`) before the error line. Input errors have none.
   */
  readonly partial?: object;

  constructor(message: string, exitCode: number, options?: { cause?: unknown; partial?: object }) {
    super(message, options);
    this.name = 'MemregionError';
    this.exitCode = exitCode;
    if (options?.partial) this.partial = options.partial;
  }
}

export const usageError = (message: string) => new MemregionError(message, ExitCode.USAGE);
export const dataError = (message: string) => new MemregionError(message, ExitCode.DATA_ERR);
export const unavailableError = (message: string) => new MemregionError(message, ExitCode.UNAVAILABLE);
export const permissionError = (message: string) => new MemregionError(message, ExitCode.NO_PERM);

/** Maps a Node.js system error (fs, child process) to a user error with the right exit code. */
export function fromSystemError(error: unknown, what: string): MemregionError {
  if (error instanceof MemregionError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const detail = code ?? (error instanceof Error ? error.message : String(error));
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
      return new MemregionError(`${what}: no such file (${detail})`, ExitCode.NO_INPUT, { cause: error });
    case 'EACCES':
    case 'EPERM':
      return new MemregionError(`${what}: permission denied (${detail})`, ExitCode.NO_PERM, { cause: error });
    case 'EBUSY':
    case 'EAGAIN':
      return new MemregionError(`${what}: busy, try again (${detail})`, ExitCode.TEMP_FAIL, { cause: error });
    case 'ENXIO':
    case 'ENODEV':
    case 'EOPNOTSUPP':
      return new MemregionError(`${what}: not available (${detail})`, ExitCode.UNAVAILABLE, { cause: error });
    case 'EINVAL':
      return new MemregionError(`${what}: invalid argument (${detail})`, ExitCode.DATA_ERR, { cause: error });
    default:
      return new MemregionError(`${what}: ${detail}`, ExitCode.IO_ERR, { cause: error });
  }
}

/** Exit code for an invalidation's final errno (DESIGN §5). */
export function exitCodeForErrno(errno: string | null): number {
  switch (errno) {
    case null:
      return ExitCode.OK;
    case 'EINVAL':
      return ExitCode.DATA_ERR;
    case 'EOPNOTSUPP':
    case 'ENODEV':
    case 'ENXIO':
      return ExitCode.UNAVAILABLE;
    case 'EBUSY':
    case 'EAGAIN':
    case 'ETIMEDOUT':
      return ExitCode.TEMP_FAIL;
    case 'EPERM':
    case 'EACCES':
      return ExitCode.NO_PERM;
    default:
      return ExitCode.IO_ERR;
  }
}
