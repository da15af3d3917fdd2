import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { access, readdir, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { escapeControl } from '../../core/quote.js';
import { writeRegularFile } from './regular-file.js';

/** More than any kernel file memregion reads holds (kallsyms of a large kernel is some 15 MiB). */
export const MAX_KERNEL_FILE_BYTES = 32 * 1024 * 1024;
/** Most kernel files are a line (sysfs attributes are at most a page): start small, grow for kallsyms. */
const FIRST_CHUNK = 16 * 1024;
const MAX_CHUNK = 1024 * 1024;
/**
 * Every kernel file memregion reads with `read` is a regular file (procfs, sysfs, securityfs); a device or
 * FIFO in its place (a hostile or broken --root tree: /dev/zero as osrelease) is read no further than this,
 * so that it costs milliseconds rather than 32 MiB of parsing.
 */
const MAX_NON_REGULAR_BYTES = 64 * 1024;

/** How a kernel file is opened: non-blocking (a FIFO without a writer reads as empty instead of blocking). */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * One open kernel file, read synchronously. The files are procfs, sysfs, securityfs and debugfs nodes
 * (or a test tree's plain files) opened non-blocking: a read returns at once, so a round trip through
 * the thread pool per read (hundreds for the kmsg ring, one record per read) would only add latency.
 * Long reads yield to the event loop now and then (yieldNow) so that a signal is still handled.
 */
export class KernelFile {
  private constructor(private readonly fd: number) {}

  static open(file: string): KernelFile {
    return new KernelFile(openSync(file, OPEN_FLAGS));
  }

  /** Bytes read into `buffer[offset, offset + length)`; 0 at the end, and on EAGAIN (nothing more now). */
  read(buffer: Buffer, length = buffer.length, offset = 0): number {
    try {
      return readSync(this.fd, buffer, offset, length, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return 0;
      throw error;
    }
  }

  /** Whether this is a regular file, as every procfs and sysfs node is. */
  isRegular(): boolean {
    return fstatSync(this.fd).isFile();
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {}
  }
}

/** Lets the event loop run (signals, timers) in the middle of a long synchronous read. */
export const yieldNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Reads a kernel file, or what a --root tree has in its place, so that nothing there can stall or
 * exhaust the process: opened non-blocking, and at most MAX_KERNEL_FILE_BYTES (a device such as
 * /dev/zero never ends).
 */
export async function readBounded(file: string): Promise<Buffer> {
  const handle = KernelFile.open(file);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    let chunk = FIRST_CHUNK;
    let ended = false;
    const limit = handle.isRegular() ? MAX_KERNEL_FILE_BYTES : MAX_NON_REGULAR_BYTES;
    while (!ended && total < limit) {
      const buffer = Buffer.allocUnsafe(Math.min(chunk, limit - total));
      if (chunk === MAX_CHUNK) await yieldNow();
      chunk = Math.min(chunk * 2, MAX_CHUNK);
      // procfs hands out a page per read: fill this buffer before taking the next.
      let filled = 0;
      while (filled < buffer.length) {
        const bytesRead = handle.read(buffer, buffer.length - filled, filled);
        if (bytesRead === 0) {
          ended = true;
          break;
        }
        filled += bytesRead;
      }
      if (filled > 0) chunks.push(buffer.subarray(0, filled));
      total += filled;
    }
    return Buffer.concat(chunks, total);
  } finally {
    handle.close();
  }
}

/** Buffer size of streamed reads: large enough that a 15 MiB kallsyms takes a few hundred reads. */
const STREAM_CHUNK = 256 * 1024;

/** Name of the file `collect` writes at the top of an evidence tree (see collector.ts). */
export const COLLECT_MANIFEST = 'memregion-collect.json';

/** PAGE_SIZE, the most a sysfs show() may print (fs/sysfs/file.c sysfs_emit()). */
const SYSFS_PAGE_BYTES = 4096;

/** A one-line kernel file's text as `SysRoot.value` takes it: its first line, at most a page, escaped. */
export const attributeLine = (text: string): string =>
  escapeControl(text.trim().split('\n', 1)[0]!.slice(0, SYSFS_PAGE_BYTES));

/** The result of reading one kernel file: its text, or why it could not be read. */
export type ReadResult = { ok: true; text: string } | { ok: false; code: string; denied: boolean };
export type ReadFailure = Extract<ReadResult, { ok: false }>;

const failure = (error: unknown): ReadFailure => {
  const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
  return { ok: false, code, denied: code === 'EACCES' || code === 'EPERM' };
};

/**
 * Files of the machine under `root` (normally `/`, a fixture tree in tests, an unpacked `collect`
 * archive). Every path is a fixed kernel path or one built from a validated kernel name: `resolve`
 * refuses a spelling that leaves root, and below any root but `/` a path whose links lead out of it (a
 * tree from elsewhere could link `mem0/serial` to /etc/shadow, or `commit` to a file of this machine) is
 * neither read, listed nor written: it reads as an error (EXDEV), as a file that is not there would.
 */
export class SysRoot {
  readonly root: string;

  /** Read errors recorded by `collect` on the machine the tree came from, by kernel path. */
  private recordedErrors: Promise<Map<string, string>> | null = null;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get isRealRoot(): boolean {
    return this.root === path.parse(this.root).root;
  }

  private realRoot: Promise<string> | null = null;

  /**
   * `full` with its links followed, when that stays inside the root (at `/`, `full` itself: the kernel's
   * own links go where they go). Throws the lookup's error, or EXDEV for a path that leads out.
   */
  private async inside(full: string): Promise<string> {
    if (this.isRealRoot) return full;
    this.realRoot ??= realpath(this.root);
    const [real, root] = await Promise.all([realpath(full), this.realRoot]);
    return this.within(full, real, root);
  }

  private within(full: string, real: string, root: string): string {
    if (real !== root && !real.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) {
      throw Object.assign(new Error(`${full} leads out of the root ${this.root}`), { code: 'EXDEV' });
    }
    return real;
  }

  /**
   * The file a read opens: `inside`, and below any root but `/` never a device node. Opening one acts
   * on the device (a watchdog's node arms the timer that reboots the machine unless it is fed), and
   * GNU tar run as root makes the nodes an archive holds: the kernel files of a tree are plain files,
   * only those of this machine's / (dev/kmsg) are devices. Refused as EXDEV, as a link out of the tree is.
   */
  private async openable(relative: string): Promise<string> {
    const real = await this.inside(this.resolve(relative));
    if (this.isRealRoot) return real;
    const info = await stat(real);
    if (info.isCharacterDevice() || info.isBlockDevice()) {
      throw Object.assign(new Error(`${real} is a device node`), { code: 'EXDEV' });
    }
    return real;
  }

  /**
   * `inside` for a path that a write may create (tracefs files and instances: a test tree has plain
   * files there), synchronously for the exit hook's clean-up: its folders' links must stay inside the
   * root and, when the path itself is a link, so must that link. A link to nothing is refused as well:
   * an O_CREAT open would create its target, wherever that is.
   */
  placeSync(relative: string): string {
    const full = this.resolve(relative);
    if (this.isRealRoot) return full;
    const root = realpathSync(this.root);
    const dir = this.within(full, realpathSync(path.dirname(full)), root);
    const at = path.join(dir, path.basename(full));
    if (lstatSync(at, { throwIfNoEntry: false })?.isSymbolicLink() !== true) return at;
    let real: string;
    try {
      real = realpathSync(at);
    } catch {
      throw Object.assign(new Error(`${full} is a link that leads nowhere`), { code: 'EXDEV' });
    }
    return this.within(full, real, root);
  }

  /** Absolute path of a kernel path such as `proc/iomem`, kept inside root. */
  resolve(relative: string): string {
    const full = path.resolve(this.root, relative.replace(/^\/+/, ''));
    if (
      full !== this.root &&
      !full.startsWith(this.root.endsWith(path.sep) ? this.root : this.root + path.sep)
    ) {
      throw new Error(`path ${relative} leaves the root ${this.root}`);
    }
    return full;
  }

  /**
   * In a tree that `collect` wrote, a file that could not be read on its machine is an empty placeholder,
   * and the manifest says why: the readers then see the same error there (EACCES stays a reason that needs
   * root, not a missing file). Never consulted at the real root.
   */
  private async recordedError(relative: string): Promise<ReadFailure | null> {
    if (this.isRealRoot) return null;
    // Through `openable` as every file of the tree: a manifest linked out of it, or a device, is no manifest.
    this.recordedErrors ??= this.openable(COLLECT_MANIFEST).then(loadRecordedErrors, () => new Map());
    const code = (await this.recordedErrors).get(relative.replace(/^\/+/, ''));
    return code === undefined ? null : failure({ code });
  }

  /** The file's text (UTF-8, bounded as `readBytes`), or why not. */
  async read(relative: string): Promise<ReadResult> {
    const read = await this.readBytes(relative);
    return read.ok ? { ok: true, text: read.bytes.toString('utf8') } : read;
  }

  /** The file's bytes (read with readBounded), or why not: the error recorded by `collect`, or the read's. */
  async readBytes(relative: string): Promise<{ ok: true; bytes: Buffer } | ReadFailure> {
    const recorded = await this.recordedError(relative);
    if (recorded) return recorded;
    try {
      return { ok: true, bytes: await readBounded(await this.openable(relative)) };
    } catch (error) {
      return failure(error);
    }
  }

  /** Opens a kernel file non-blocking as `read` does, for a reader with its own loop (the kmsg ring). */
  async openKernelFile(relative: string): Promise<{ ok: true; handle: KernelFile } | ReadFailure> {
    const recorded = await this.recordedError(relative);
    if (recorded) return recorded;
    try {
      return { ok: true, handle: KernelFile.open(await this.openable(relative)) };
    } catch (error) {
      return failure(error);
    }
  }

  /**
   * Streams a kernel file through `consume` with one reused buffer, bounded and non-blocking as `read`,
   * so that a large file (kallsyms) is scanned without holding it. Null when it was read to the end (or
   * to the bound); the failure otherwise. `consume` may return true to stop early.
   */
  async stream(
    relative: string,
    consume: (chunk: Buffer, length: number) => boolean | undefined,
  ): Promise<ReadFailure | null> {
    const opened = await this.openKernelFile(relative);
    if (!opened.ok) return opened;
    const handle = opened.handle;
    try {
      const buffer = Buffer.allocUnsafe(STREAM_CHUNK);
      let total = 0;
      let ended = false;
      while (!ended && total < MAX_KERNEL_FILE_BYTES) {
        // procfs hands out a page per read: fill the buffer before the consumer scans it.
        let filled = 0;
        const room = Math.min(buffer.length, MAX_KERNEL_FILE_BYTES - total);
        while (filled < room) {
          const bytesRead = handle.read(buffer, room - filled, filled);
          if (bytesRead === 0) {
            ended = true;
            break;
          }
          filled += bytesRead;
        }
        total += filled;
        if (filled > 0 && consume(buffer, filled) === true) break;
        await yieldNow();
      }
      return null;
    } catch (error) {
      return failure(error);
    } finally {
      handle.close();
    }
  }

  /**
   * Trimmed text of a one-value sysfs attribute, or null when it cannot be read. A kernel show() prints
   * one line of at most a page (sysfs_emit()): only that much is taken, its control characters escaped,
   * so that no value (from a tree that is not the kernel's, or a firmware string) can flood a report or
   * drive the terminal. A kernel's own value is unchanged by this.
   */
  async value(relative: string): Promise<string | null> {
    const result = await this.read(relative);
    return result.ok ? attributeLine(result.text) : null;
  }

  async exists(relative: string): Promise<boolean> {
    try {
      await access(await this.inside(this.resolve(relative)), constants.F_OK);
      return true;
    } catch {
      return false;
    }
  }

  async list(relative: string): Promise<string[]> {
    try {
      return (await readdir(await this.inside(this.resolve(relative)))).sort();
    } catch {
      return [];
    }
  }

  async link(relative: string): Promise<string | null> {
    try {
      const full = this.resolve(relative);
      // The link itself is read, not followed: only the folders on the way must stay inside.
      return await readlink(path.join(await this.inside(path.dirname(full)), path.basename(full)));
    } catch {
      return null;
    }
  }

  /** Writes a sysfs attribute the way `echo value > file` does, to a regular file only. */
  async write(relative: string, value: string): Promise<void> {
    const file = await this.inside(this.resolve(relative));
    if (!this.isRealRoot) await refuseReadOnly(file);
    // Writing an attribute never creates it.
    await writeRegularFile(file, `${value}\n`, { flags: constants.O_TRUNC, create: false });
  }
}

/**
 * kernfs refuses to open an attribute without a write bit for writing, root included (kernfs_fop_open():
 * EACCES), while root's CAP_DAC_OVERRIDE writes any plain file: a tree's read-only `commit` or
 * `security/sanitize` was written as if it were writable. A missing file is left to the write's ENOENT.
 */
async function refuseReadOnly(file: string): Promise<void> {
  const info = await stat(file).catch(() => null);
  if (info?.isFile() && (info.mode & 0o222) === 0)
    throw Object.assign(new Error(`${file} is read-only`), { code: 'EACCES' });
}

/** The `unreadable` list of a collect manifest as a map from kernel path to error code; empty when there is none. */
async function loadRecordedErrors(file: string): Promise<Map<string, string>> {
  const errors = new Map<string, string>();
  let manifest: unknown;
  try {
    manifest = JSON.parse((await readBounded(file)).toString('utf8'));
  } catch {
    return errors;
  }
  const unreadable = (manifest as { unreadable?: unknown } | null)?.unreadable;
  if (!Array.isArray(unreadable)) return errors;
  for (const entry of unreadable) {
    const { path: where, code } = (entry ?? {}) as { path?: unknown; code?: unknown };
    if (typeof where === 'string' && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code))
      errors.set(where, code);
  }
  return errors;
}
