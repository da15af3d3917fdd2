import { constants } from 'node:fs';
import { access, open, readdir, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** More than any kernel file memregion reads holds (kallsyms of a large kernel is some 15 MiB). */
export const MAX_KERNEL_FILE_BYTES = 32 * 1024 * 1024;
/** Most kernel files are a line (sysfs attributes are at most a page): start small, grow for kallsyms. */
const FIRST_CHUNK = 16 * 1024;
const MAX_CHUNK = 1024 * 1024;

/**
 * Reads a kernel file, or what a --root tree has in its place, so that nothing there can stall or
 * exhaust the process: opened non-blocking (a FIFO without a writer reads as empty instead of blocking),
 * and at most MAX_KERNEL_FILE_BYTES (a device such as /dev/zero never ends).
 */
async function readBounded(file: string): Promise<Buffer> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    let chunk = FIRST_CHUNK;
    while (total < MAX_KERNEL_FILE_BYTES) {
      const buffer = Buffer.allocUnsafe(Math.min(chunk, MAX_KERNEL_FILE_BYTES - total));
      chunk = Math.min(chunk * 2, MAX_CHUNK);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, buffer.length, null));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw error;
      }
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close().catch(() => {});
  }
}

/** The result of reading one kernel file: its text, or why it could not be read. */
export type ReadResult = { ok: true; text: string } | { ok: false; code: string; denied: boolean };

/**
 * Files of the machine under `root` (normally `/`, a fixture tree in tests). Every path is a fixed
 * kernel path or one built from a validated kernel name: `resolve` refuses anything that leaves root.
 */
export class SysRoot {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get isRealRoot(): boolean {
    return this.root === path.parse(this.root).root;
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

  async read(relative: string): Promise<ReadResult> {
    try {
      return { ok: true, text: (await readBounded(this.resolve(relative))).toString('utf8') };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      return { ok: false, code, denied: code === 'EACCES' || code === 'EPERM' };
    }
  }

  async readBuffer(relative: string): Promise<Buffer | null> {
    try {
      return await readBounded(this.resolve(relative));
    } catch {
      return null;
    }
  }

  /** Trimmed text of a one-value sysfs attribute, or null when it cannot be read. */
  async value(relative: string): Promise<string | null> {
    const result = await this.read(relative);
    return result.ok ? result.text.trim() : null;
  }

  async exists(relative: string): Promise<boolean> {
    try {
      await access(this.resolve(relative), constants.F_OK);
      return true;
    } catch {
      return false;
    }
  }

  async list(relative: string): Promise<string[]> {
    try {
      return (await readdir(this.resolve(relative))).sort();
    } catch {
      return [];
    }
  }

  async link(relative: string): Promise<string | null> {
    try {
      return await readlink(this.resolve(relative));
    } catch {
      return null;
    }
  }

  /** Writes a sysfs attribute the way `echo value > file` does. */
  async write(relative: string, value: string): Promise<void> {
    await writeFile(this.resolve(relative), `${value}\n`, { flag: 'w' });
  }
}
