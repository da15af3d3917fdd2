import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { unavailableError } from '../core/errors.js';
import { CpioWriter } from './cpio.js';

/**
 * An initramfs being assembled: files from the host at the paths the guest expects, parent folders first
 * (the kernel's unpacker does not make them), in a merged-/usr layout (/bin, /sbin, /lib, /lib64 are links
 * into /usr, as on Debian 12), so that a host path and its /usr twin land on one file.
 */
export class Initramfs {
  private readonly cpio: CpioWriter;
  private readonly made = new Set<string>(['/']);

  constructor(file: string) {
    this.cpio = new CpioWriter(file);
  }

  static async create(file: string): Promise<Initramfs> {
    const image = new Initramfs(file);
    for (const dir of ['/usr', '/usr/bin', '/usr/sbin', '/usr/lib', '/usr/lib64']) await image.directory(dir);
    for (const link of ['bin', 'sbin', 'lib', 'lib64']) await image.cpio.symlink(link, `usr/${link}`);
    for (const link of ['/bin', '/sbin', '/lib', '/lib64']) image.made.add(link);
    for (const dir of ['/proc', '/sys', '/dev', '/tmp', '/out', '/root', '/run', '/etc', '/boot', '/lab']) {
      await image.directory(dir);
    }
    return image;
  }

  /** `/lib/x/y` → `/usr/lib/x/y`: the guest's merged layout. */
  static guestPath(file: string): string {
    return file.replace(/^\/(bin|sbin|lib|lib64)(\/|$)/, '/usr/$1$2');
  }

  async directory(dir: string): Promise<void> {
    const guest = Initramfs.guestPath(dir);
    if (this.made.has(guest)) return;
    await this.directory(path.posix.dirname(guest));
    this.made.add(guest);
    await this.cpio.directory(guest);
  }

  async file(guest: string, data: Buffer | string, mode = 0o644): Promise<void> {
    const target = Initramfs.guestPath(guest);
    if (this.made.has(target)) return;
    await this.directory(path.posix.dirname(target));
    this.made.add(target);
    await this.cpio.file(target, data, mode);
  }

  async symlink(guest: string, to: string): Promise<void> {
    const target = Initramfs.guestPath(guest);
    if (this.made.has(target)) return;
    await this.directory(path.posix.dirname(target));
    this.made.add(target);
    await this.cpio.symlink(target, to);
  }

  /** A host file (links followed) at the same path in the guest, or at `guest`. */
  async hostFile(host: string, guest?: string): Promise<void> {
    const real = await realpath(host);
    const info = await stat(real);
    await this.file(
      guest ?? path.join(await realpath(path.dirname(host)), path.basename(host)),
      await readFile(real),
      info.mode & 0o777,
    );
  }

  /** A host folder, recursively, at `guest`; `keep` filters by path relative to `host`. */
  async hostTree(
    host: string,
    guest: string,
    keep: (relative: string) => boolean = () => true,
    relative = '',
  ): Promise<void> {
    for (const entry of await readdir(path.join(host, relative), { withFileTypes: true })) {
      const rel = path.join(relative, entry.name);
      if (!keep(rel)) continue;
      if (entry.isDirectory()) await this.hostTree(host, guest, keep, rel);
      else if (entry.isFile() || entry.isSymbolicLink()) {
        try {
          await this.hostFile(path.join(host, rel), path.posix.join(guest, rel));
        } catch {}
      }
    }
  }

  /** A dynamically linked host program with the libraries ldd names (and the loader). */
  async hostProgram(program: string, guest: string): Promise<void> {
    await this.hostFile(program, guest);
    for (const library of await sharedLibraries(program)) await this.hostFile(library);
  }

  close(): Promise<void> {
    return this.cpio.close();
  }
}

/** The absolute paths in `ldd`'s answer: `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` and the loader. */
export function parseLdd(text: string): string[] {
  const paths = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (match) paths.add(match[1]!);
  }
  return [...paths];
}

async function sharedLibraries(program: string): Promise<string[]> {
  const { execa } = await import('execa');
  const result = await execa('ldd', [program], { reject: false, stdin: 'ignore' });
  if (result.failed && !/not a dynamic executable/.test(String(result.stdout) + String(result.stderr))) {
    throw unavailableError(
      `ldd ${program} failed: ${String(result.stderr).trim() || `exit ${result.exitCode}`}`,
    );
  }
  return parseLdd(String(result.stdout));
}

/**
 * Compresses the archive (zstd -1 when the system has it, else gzip -1 in-process): QEMU 10's TCG x86
 * guest stopped on an assertion (iotlb_to_section) with a 120 MB uncompressed initrd, and a compressed one
 * also loads faster. Debian kernels have RD_ZSTD and RD_GZIP.
 */
export async function compressInitramfs(file: string): Promise<string> {
  const { execa } = await import('execa');
  const zst = `${file}.zst`;
  const result = await execa('zstd', ['-1', '-q', '-f', '-T0', file, '-o', zst], {
    reject: false,
    stdin: 'ignore',
  });
  if (!result.failed) return zst;
  const { createReadStream, createWriteStream } = await import('node:fs');
  const { pipeline } = await import('node:stream/promises');
  const { createGzip } = await import('node:zlib');
  const gz = `${file}.gz`;
  await pipeline(createReadStream(file), createGzip({ level: 1 }), createWriteStream(gz));
  return gz;
}
