import { constants, type Stats } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { ExitCode, MemregionError } from './errors.js';
import { quote } from './quote.js';

/** Largest input file (a profile) memregion reads: anything bigger is refused, never loaded whole. */
export const MAX_INPUT_BYTES = 1024 * 1024;

/**
 * Reads a user-named input file (a profile) that must be a regular file. The open is non-blocking so that
 * a FIFO or a device can never stall the process, and the file is checked with fstat on the descriptor it
 * was opened as (no race with a rename). Errors name the file and the reason, never its content. Exit 66.
 */
export async function readRegularFileBytes(
  file: string,
  what: string,
  maxBytes = MAX_INPUT_BYTES,
): Promise<Buffer> {
  const fail = (why: string) => inputError(what, quote(file), why);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw fail((error as NodeJS.ErrnoException).code ?? 'EIO');
  }
  try {
    const info = await handle.stat();
    const kind = notARegularFile(info);
    if (kind !== null) throw fail(kind);
    if (info.size > maxBytes) throw fail(`larger than ${maxBytes} bytes`);
    const buffer = Buffer.alloc(Math.min(Number(info.size), maxBytes) + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw fail(`larger than ${maxBytes} bytes`);
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof MemregionError) throw error;
    throw fail((error as NodeJS.ErrnoException).code ?? 'EIO');
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * A user-named input file that another program reads (the lab's `--kernel` image for QEMU, its `--modules`
 * folder): it must exist and be readable, and be a regular file (a device such as /dev/zero would have been
 * handed on) or a folder we may list. Exit 66 naming `what`, checked without opening the file.
 */
export async function requireInputPath(file: string, what: string, kind: 'file' | 'folder'): Promise<void> {
  const fail = (why: string) => inputError(what, quote(file), why);
  const code = (error: unknown) => (error as NodeJS.ErrnoException).code ?? 'EIO';
  const info: Stats = await stat(file).catch((error: unknown) => {
    throw fail(code(error));
  });
  const wrongKind = kind === 'file' ? notARegularFile(info) : info.isDirectory() ? null : 'not a folder';
  if (wrongKind !== null) throw fail(wrongKind);
  await access(file, kind === 'file' ? constants.R_OK : constants.R_OK | constants.X_OK).catch(
    (error: unknown) => {
      throw fail(code(error));
    },
  );
}

const inputError = (what: string, shownFile: string, why: string) =>
  new MemregionError(`cannot read ${what} ${shownFile} (${why})`, ExitCode.NO_INPUT);

/** Why `info` is not a regular file, or null when it is. */
const notARegularFile = (info: Stats): string | null =>
  info.isFile() ? null : info.isDirectory() ? 'a directory, not a file' : 'not a regular file';
