import { constants, type Stats } from 'node:fs';
import { access, type FileHandle, lstat, open, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, MemregionError } from './errors.js';
import { quote } from './quote.js';

/**
 * `--output <file>`, as an operator expects of a careful Unix tool:
 * - a regular file, or a path where nothing is yet: replaced atomically (a temporary file in the same
 *   folder, created exclusively and never through a link, then renamed over it), keeping the old file's
 *   mode and owner, so that a reader such as a textfile collector never sees half of it;
 * - a symbolic link: followed; its target is replaced (or created), the link stays;
 * - a character device, a FIFO or a socket: written in place, as a shell redirection would (`/dev/null`
 *   stays a device, `/dev/full` fails with ENOSPC);
 * - a directory or a block device: refused.
 * Creating the file fails with 73 (EX_CANTCREAT); writing, and refused targets, with 74 (EX_IOERR).
 */
export async function writeOutput(
  target: string,
  text: string | Uint8Array,
  label = 'output file',
): Promise<void> {
  if (target === '')
    throw new MemregionError(
      label === 'output file' ? '--output needs a file name' : `the ${label} needs a name`,
      ExitCode.USAGE,
    );
  const fail = failures(label);
  if (STDOUT_NAMES.has(path.resolve(target))) {
    // Our own stdout, which may be a socket that cannot be opened by name: the stream itself.
    process.stdout.write(text);
    return;
  }
  let info: Stats | null;
  try {
    info = await stat(target);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw fail.create(target, errorCode(error));
    info = null;
  }
  if (info === null) return replaceAtomically(await linkTarget(target, fail), text, null, fail);
  if (info.isFile()) return replaceAtomically(await realpath(target), text, info, fail);
  if (info.isDirectory()) throw fail.write(target, 'a directory');
  if (info.isBlockDevice()) throw fail.write(target, 'a block device: refusing to write over it');
  return writeInPlace(target, text, fail);
}

/**
 * Before a long run whose file is written at its end (`stress --hdr-log`): the errors `writeOutput`
 * would give for a target that cannot be written at all (a directory, a block device, a missing or
 * read-only folder), now rather than after the run.
 */
export async function checkOutputTarget(target: string, label: string): Promise<void> {
  const fail = failures(label);
  if (target === '') throw new MemregionError(`the ${label} needs a name`, ExitCode.USAGE);
  let info: Stats | null = null;
  try {
    info = await stat(target);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw fail.create(target, errorCode(error));
  }
  if (info?.isDirectory()) throw fail.write(target, 'a directory');
  if (info?.isBlockDevice()) throw fail.write(target, 'a block device: refusing to write over it');
  if (info !== null && !info.isFile()) return;
  const folder = path.dirname(info === null ? await linkTarget(target, fail) : await realpath(target));
  try {
    await access(folder, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw fail.create(target, errorCode(error));
  }
}

const STDOUT_NAMES = new Set(['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1', `/proc/${process.pid}/fd/1`]);

/** Where a path that does not exist would be created: itself, or the end of its (dangling) link chain. */
async function linkTarget(target: string, fail: Failures): Promise<string> {
  let current = path.resolve(target);
  for (let hops = 0; hops < 40; hops++) {
    let link: string;
    try {
      if (!(await lstat(current)).isSymbolicLink()) return current;
      link = await readlink(current);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return current;
      throw fail.create(target, errorCode(error));
    }
    current = path.resolve(path.dirname(current), link);
  }
  throw fail.create(target, 'ELOOP');
}

async function replaceAtomically(
  file: string,
  text: string | Uint8Array,
  old: Stats | null,
  fail: Failures,
): Promise<void> {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.memregion-${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`,
  );
  let handle: FileHandle;
  try {
    // O_EXCL: never an existing file; O_NOFOLLOW: never through a link planted at the temporary name.
    handle = await open(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      old ? 0o600 : 0o666,
    );
  } catch (error) {
    throw fail.create(file, errorCode(error));
  }
  try {
    try {
      if (old) {
        // The owner first: chown clears set-id bits, which chmod then restores.
        if (old.uid !== process.getuid?.() || old.gid !== process.getgid?.())
          await handle.chown(old.uid, old.gid).catch(() => {});
        await handle.chmod(old.mode & 0o7777);
      }
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw fail.write(file, errorCode(error));
  }
}

/** A device, FIFO or socket: opened as `>` would (no O_CREAT needed), written, never replaced. */
async function writeInPlace(target: string, text: string | Uint8Array, fail: Failures): Promise<void> {
  let handle: FileHandle;
  try {
    // Non-blocking, so that a FIFO nobody reads fails (ENXIO) instead of hanging in open.
    handle = await open(target, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (error) {
    const code = errorCode(error);
    throw fail.write(target, code === 'ENXIO' ? 'ENXIO: no reader, or a socket' : code);
  }
  try {
    const data =
      typeof text === 'string'
        ? Buffer.from(text)
        : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
    let written = 0;
    while (written < data.length) {
      try {
        written += (await handle.write(data, written, data.length - written)).bytesWritten;
      } catch (error) {
        // A full pipe: wait for the reader, as a blocking write would (a second Ctrl-C still exits).
        if (errorCode(error) !== 'EAGAIN') throw error;
        await sleep(5);
      }
    }
  } catch (error) {
    throw fail.write(target, errorCode(error));
  } finally {
    await handle.close().catch(() => {});
  }
}

const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';

/** The errors for one kind of file (`output file`, `--hdr-log file`): 73 to create it, 74 to write it. */
interface Failures {
  create(file: string, why: string): MemregionError;
  write(file: string, why: string): MemregionError;
}

const failures = (label: string): Failures => ({
  create: (file, why) =>
    new MemregionError(`cannot create the ${label} ${quote(file)} (${why})`, ExitCode.CANT_CREAT),
  write: (file, why) =>
    new MemregionError(`cannot write the ${label} ${quote(file)} (${why})`, ExitCode.IO_ERR),
});
