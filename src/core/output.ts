import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
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

/**
 * Writes a file so that a reader (a textfile collector, a script) never sees half of it: a temporary file
 * in the same folder, then a rename over the target.
 */
export async function writeFileAtomic(target: string, text: string): Promise<void> {
  const dir = path.dirname(path.resolve(target));
  const temp = path.join(
    dir,
    `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`,
  );
  try {
    await writeFile(temp, text, { mode: 0o644 });
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    const exit =
      code === 'EACCES' || code === 'EPERM'
        ? ExitCode.NO_PERM
        : code === 'ENOENT'
          ? ExitCode.NO_INPUT
          : ExitCode.IO_ERR;
    throw new MemregionError(`cannot write ${target} (${code})`, exit);
  }
}

/** Prints (or writes with --output) the result in the chosen format. */
export async function emit(result: Rendered, format: Format, output?: string): Promise<void> {
  const text = await renderAs(format, result);
  if (output) await writeFileAtomic(output, text);
  else process.stdout.write(text);
}
