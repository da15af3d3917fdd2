import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { ExitCode, MemregionError } from './errors.js';

/** Largest input file (a profile) memregion reads: anything bigger is refused, never loaded whole. */
export const MAX_INPUT_BYTES = 1024 * 1024;

/**
 * Reads a user-named input file (a profile) that must be a regular file. The open is non-blocking so that
 * a FIFO or a device can never stall the process, and the file is checked with fstat on the descriptor it
 * was opened as (no race with a rename). Errors name the file and the reason, never its content. Exit 66.
 */
export async function readRegularFile(
  file: string,
  what: string,
  maxBytes = MAX_INPUT_BYTES,
): Promise<string> {
  const fail = (why: string) => new MemregionError(`cannot read ${what} ${file} (${why})`, ExitCode.NO_INPUT);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw fail((error as NodeJS.ErrnoException).code ?? 'EIO');
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw fail('a directory, not a file');
    if (!info.isFile()) throw fail('not a regular file');
    if (info.size > maxBytes) throw fail(`larger than ${maxBytes} bytes`);
    const buffer = Buffer.alloc(Math.min(Number(info.size), maxBytes) + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw fail(`larger than ${maxBytes} bytes`);
    return buffer.subarray(0, length).toString('utf8');
  } catch (error) {
    if (error instanceof MemregionError) throw error;
    throw fail((error as NodeJS.ErrnoException).code ?? 'EIO');
  } finally {
    await handle.close().catch(() => {});
  }
}
