import { oneLine } from './quote.js';

/** Diagnostics on stderr: never on stdout, which carries only the result. */
export interface Logger {
  readonly level: LogLevel;
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

export type LogLevel = 'quiet' | 'normal' | 'verbose';

const RANK: Record<LogLevel, number> = { quiet: 0, normal: 1, verbose: 2 };

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const at = (min: LogLevel, prefix: string) => (message: string) => {
    if (RANK[level] >= RANK[min]) write(`memregion: ${prefix}${oneLine(message)}\n`);
  };
  return {
    level,
    error: (message) => write(`memregion: ${oneLine(message)}\n`),
    warn: at('normal', 'warning: '),
    info: at('normal', ''),
    debug: at('verbose', 'debug: '),
  };
}

/** A logger that drops everything, for library callers and tests. */
export const silentLogger: Logger = createLogger('quiet', () => {});
