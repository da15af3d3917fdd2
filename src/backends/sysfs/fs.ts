import { constants } from 'node:fs';
import { access, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

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
      return { ok: true, text: await readFile(this.resolve(relative), 'utf8') };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      return { ok: false, code, denied: code === 'EACCES' || code === 'EPERM' };
    }
  }

  async readBuffer(relative: string): Promise<Buffer | null> {
    try {
      return await readFile(this.resolve(relative));
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
