import { ExitCode, MemregionError } from './errors.js';

export type Format = 'human' | 'json' | 'prometheus';
export const FORMATS: readonly Format[] = ['human', 'json', 'prometheus'];

/** A command's result in each format it supports. */
export interface Rendered {
  json: object;
  human: () => string;
  /** Loaded on use: the exposition renderer is not needed by the other formats. */
  prometheus?: () => Promise<string>;
}

/** JSON with 64-bit values as decimal strings (reports already give addresses as 0x strings). */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

export async function renderAs(format: Format, result: Rendered): Promise<string> {
  switch (format) {
    case 'json':
      return `${toJson(result.json)}\n`;
    case 'prometheus':
      if (!result.prometheus)
        throw new MemregionError(
          '--format prometheus is available for probe and stress only',
          ExitCode.USAGE,
        );
      return result.prometheus();
    case 'human': {
      const text = result.human();
      return text.endsWith('\n') || text === '' ? text : `${text}\n`;
    }
  }
}

/** Where a command's result goes: its format, the --output file, and the stop signal of the run. */
export interface OutputTarget {
  format: Format;
  output?: string;
  /** A stop signal that comes while the --output file is written ends the write (output-file.ts). */
  signal?: AbortSignal;
}

/** Prints (or writes with --output, by the rules of output-file.ts) the result in the chosen format. */
export async function emit(result: Rendered, to: OutputTarget): Promise<void> {
  const text = await renderAs(to.format, result);
  if (to.output === undefined) process.stdout.write(text);
  else await (await import('./output-file.js')).writeOutput(to.output, text, undefined, to.signal);
}
