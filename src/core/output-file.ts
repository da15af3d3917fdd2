import { constants, type Stats } from 'node:fs';
import { access, type FileHandle, lstat, open, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, MemregionError } from './errors.js';
import { quote } from './quote.js';
import { STOP_DRAIN_MS } from './stop.js';

/**
 * `--output <file>`, as an operator expects of a careful Unix tool:
 * - a regular file, or a path where nothing is yet: replaced atomically (a temporary file in the same
 *   folder, created exclusively and never through a link, then renamed over it), keeping the old file's
 *   mode and owner, so that a reader such as a textfile collector never sees half of it;
 * - a symbolic link: followed; its target is replaced (or created), the link stays; but never a link
 *   that another user owns in a sticky world-writable folder such as /tmp (73, EACCES, as the kernel's
 *   protected_symlinks rule refuses a root `>` through it);
 * - a character device, a FIFO or a socket: written in place, as a shell redirection would (`/dev/null`
 *   stays a device, `/dev/full` fails with ENOSPC);
 * - a directory or a block device: refused.
 * Creating the file fails with 73 (EX_CANTCREAT); writing, and refused targets, with 74 (EX_IOERR).
 * A stop signal (`signal`) that comes during the write ends it at once (OutputInterrupted), however slow
 * the reader of a FIFO.
 */
export async function writeOutput(
  target: string,
  text: string | Uint8Array,
  label = 'output file',
  signal?: AbortSignal,
): Promise<void> {
  if (target === '')
    throw new MemregionError(
      label === 'output file' ? '--output needs a file name' : `the ${label} needs a name`,
      ExitCode.USAGE,
    );
  const fail = failures(label);
  // Taken now: a signal that comes while the links are followed stops this write, it is not a report so far.
  const stoppedBefore = signal?.aborted === true;
  if (STDOUT_NAMES.has(absolute(target, fail))) {
    // Our own stdout, which may be a socket that cannot be opened by name: the stream itself.
    process.stdout.write(text);
    return;
  }
  const { file, info } = await followLinks(target, fail);
  // A signal that came before the write (the report so far of a run it stopped) does not stop it: that
  // report is what the contract promises. It only bounds the wait for a reader that takes nothing.
  const stop = stoppedBefore ? undefined : signal;
  if (info === null || info.isFile()) return replaceAtomically(file, text, info, fail, stop);
  if (info.isDirectory()) throw fail.write(target, 'a directory');
  if (info.isBlockDevice()) throw fail.write(target, 'a block device: refusing to write over it');
  return writeInPlace(file, text, fail, stop, stoppedBefore);
}

/**
 * What `writeOutput` throws when its `signal` (the run's stop signal) was aborted while the output was
 * written: exit 130, which main turns into 128 + the signal.
 */
export class OutputInterrupted extends MemregionError {
  constructor(message: string) {
    super(message, ExitCode.INTERRUPTED);
  }
}

/**
 * Before any work whose result is written at its end (every command's `--output`, `stress --hdr-log`):
 * the errors `writeOutput` would give for a target that cannot be written at all (a directory, a block
 * device, a missing or read-only folder, a FIFO nobody reads, a socket, a terminal that is not there),
 * now rather than after an erase or a long run. What is written in place (a device, a FIFO) is opened now
 * and held until the write: opening a FIFO to look and closing it again would hand its reader an end of
 * file before the result.
 */
export async function checkOutputTarget(target: string, label: string): Promise<void> {
  const fail = failures(label);
  if (target === '') throw new MemregionError(`the ${label} needs a name`, ExitCode.USAGE);
  if (STDOUT_NAMES.has(absolute(target, fail))) return;
  const { file, info } = await followLinks(target, fail);
  if (info?.isDirectory()) throw fail.write(target, 'a directory');
  if (info?.isBlockDevice()) throw fail.write(target, 'a block device: refusing to write over it');
  if (info !== null && !info.isFile()) {
    if (!heldOpen.has(file)) heldOpen.set(file, await openInPlace(file, fail));
    return;
  }
  try {
    await access(path.dirname(file), constants.W_OK | constants.X_OK);
  } catch (error) {
    throw fail.create(target, errorCode(error));
  }
}

/** What checkOutputTarget opened to write in place, by the path links lead to, for writeInPlace. */
const heldOpen = new Map<string, FileHandle>();

/**
 * Whether two output paths end at one file, through links or as hard links of one inode (devices and
 * FIFOs excepted: `/dev/null` may take both). Two such outputs would clobber each other.
 */
export async function sameOutputFile(a: string, b: string): Promise<boolean> {
  const fail = failures('output file');
  const [x, y] = await Promise.all([a, b].map((target) => followLinks(target, fail).catch(() => null)));
  if (!x || !y) return a === b;
  if ((x.info !== null && !x.info.isFile()) || (y.info !== null && !y.info.isFile())) return false;
  if (x.file === y.file) return true;
  return x.info !== null && y.info !== null && x.info.dev === y.info.dev && x.info.ino === y.info.ino;
}

const STDOUT_NAMES = new Set(['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1', `/proc/${process.pid}/fd/1`]);

/**
 * Where `target` leads once every link on the way is followed, walked one name at a time as the kernel
 * walks a path, and what is there (null: nothing yet; it is to be created there). A link that the
 * kernel's protected_symlinks rule would not follow is refused whatever the sysctl says: root writing
 * through a link that another user planted in /tmp is the classic way to clobber /etc/shadow, and a root
 * `>` refuses it with EACCES. Links under /proc (`/dev/stderr`, `/proc/self/fd/N`) are the kernel's own:
 * it resolves them.
 */
async function followLinks(target: string, fail: Failures): Promise<{ file: string; info: Stats | null }> {
  const found = await walkLinks(target, fail);
  // A trailing slash names a folder, as in the kernel's path walk: `> new/` fails with EISDIR, `> file/`
  // with ENOTDIR. Split into names, the slash was lost and `--output new/` wrote a file called `new`.
  if (target.endsWith(path.sep) && !found.info?.isDirectory())
    throw fail.create(
      target,
      found.info === null
        ? 'EISDIR: a name ending in / is a folder'
        : 'ENOTDIR: not a folder, but the name ends in /',
    );
  return found;
}

async function walkLinks(target: string, fail: Failures): Promise<{ file: string; info: Stats | null }> {
  const pending = absolute(target, fail).split(path.sep).filter(Boolean).reverse();
  let current: string = path.sep;
  let hops = 0;
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (name === '.') continue;
    if (name === '..') {
      current = path.dirname(current);
      continue;
    }
    const next = path.join(current, name);
    let info: Stats;
    try {
      info = await lstat(next);
    } catch (error) {
      if (errorCode(error) === 'ENOENT' && pending.length === 0) return { file: next, info: null };
      throw fail.create(target, errorCode(error));
    }
    if (info.isSymbolicLink()) {
      if (next.startsWith('/proc/'))
        return kernelResolved(path.join(next, ...pending.reverse()), target, fail);
      if (++hops > MAX_LINK_HOPS) throw fail.create(target, 'ELOOP');
      await mayFollowLink(next, info, current, target, fail);
      const link = await readlink(next).catch((error) => {
        throw fail.create(target, errorCode(error));
      });
      if (path.isAbsolute(link)) current = path.sep;
      pending.push(...link.split(path.sep).filter(Boolean).reverse());
      continue;
    }
    if (pending.length > 0 && !info.isDirectory()) throw fail.create(target, 'ENOTDIR');
    current = next;
  }
  return { file: current, info: await lstat(current) };
}

/** `target` as an absolute path; a relative one needs the current folder, which may have been deleted. */
function absolute(target: string, fail: Failures): string {
  try {
    return path.resolve(target);
  } catch (error) {
    throw fail.create(target, `${errorCode(error)}: the current folder no longer exists`);
  }
}

/** As many links as the kernel follows in one path walk (include/linux/namei.h, MAXSYMLINKS). */
const MAX_LINK_HOPS = 40;

/** A path behind a /proc magic link: where the kernel says it leads. */
async function kernelResolved(
  file: string,
  target: string,
  fail: Failures,
): Promise<{ file: string; info: Stats | null }> {
  try {
    const info = await stat(file);
    return { file: info.isFile() ? await realpath(file) : file, info };
  } catch (error) {
    throw fail.create(target, errorCode(error));
  }
}

/**
 * fs/namei.c, may_follow_link(): a link is followed when the follower owns it, when its folder is not
 * both sticky and world-writable, or when the folder's owner owns the link too.
 */
async function mayFollowLink(link: string, info: Stats, folder: string, target: string, fail: Failures) {
  if (info.uid === process.geteuid?.()) return;
  const parent = await stat(folder);
  const stickyAndWorldWritable = (parent.mode & 0o1002) === 0o1002;
  if (!stickyAndWorldWritable || parent.uid === info.uid) return;
  throw fail.create(
    target,
    `EACCES: ${link} is a link owned by another user (uid ${info.uid}) in a sticky world-writable folder; not followed, as the kernel's protected_symlinks rule says`,
  );
}

/**
 * With a `signal`, a stop before the rename leaves the target as it was (the temporary file removed), and
 * a stop that comes in the rename's moment removes again a file this write created: a run that a signal
 * stopped leaves no new output behind.
 */
async function replaceAtomically(
  file: string,
  text: string | Uint8Array,
  old: Stats | null,
  fail: Failures,
  signal?: AbortSignal,
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
      await handle.writeFile(text, { signal });
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (signal?.aborted) throw interrupted(file, old);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    if (signal?.aborted) throw interrupted(file, old);
    throw fail.write(file, errorCode(error));
  }
  if (signal?.aborted && old === null) {
    await rm(file, { force: true });
    throw interrupted(file, old);
  }
}

const interrupted = (file: string, old: Stats | null) =>
  new OutputInterrupted(
    `interrupted: ${old === null ? `${quote(file)} not created` : `${quote(file)} left as it was`}`,
  );

/**
 * A device, FIFO or socket: opened as `>` would (no O_CREAT needed), written, never replaced. After a stop
 * signal (`stopped`: the report so far of a run it stopped), a reader that takes nothing for STOP_DRAIN_MS
 * is given up on, as stdout is (cli/process-guard.ts).
 */
async function writeInPlace(
  target: string,
  text: string | Uint8Array,
  fail: Failures,
  signal: AbortSignal | undefined,
  stopped: boolean,
): Promise<void> {
  const held = heldOpen.get(target);
  heldOpen.delete(target);
  const handle = held ?? (await openInPlace(target, fail));
  try {
    const data =
      typeof text === 'string'
        ? Buffer.from(text)
        : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
    let written = 0;
    let progressAt = performance.now();
    const cutShort = (why = '') =>
      new OutputInterrupted(
        `interrupted: ${quote(target)} got ${written} of ${data.length} bytes${why} (written in place, as a shell's > would)`,
      );
    while (written < data.length) {
      if (signal?.aborted) throw cutShort();
      if (stopped && performance.now() - progressAt > STOP_DRAIN_MS)
        throw cutShort(`: its reader took nothing for ${STOP_DRAIN_MS} ms after the stop signal`);
      try {
        written += (await handle.write(data, written, data.length - written)).bytesWritten;
        progressAt = performance.now();
      } catch (error) {
        // A full pipe: wait for the reader, as a blocking write would, until a stop signal.
        if (errorCode(error) !== 'EAGAIN') throw error;
        await sleep(5);
      }
    }
  } catch (error) {
    if (error instanceof OutputInterrupted) throw error;
    throw fail.write(target, errorCode(error));
  } finally {
    await handle.close().catch(() => {});
  }
}

async function openInPlace(target: string, fail: Failures): Promise<FileHandle> {
  try {
    // Non-blocking, so that a FIFO nobody reads fails (ENXIO) instead of hanging in open.
    return await open(target, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (error) {
    const code = errorCode(error);
    throw fail.write(target, code === 'ENXIO' ? 'ENXIO: no reader, or a socket' : code);
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
