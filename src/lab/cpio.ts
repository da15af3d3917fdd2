import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/**
 * A writer of the "newc" cpio format, the one the kernel unpacks as an initramfs
 * (usr/gen_init_cpio.c and init/initramfs.c upstream): a 110-byte ASCII header of hex fields, the name
 * with its NUL, padding to 4 bytes, the data, padding to 4 bytes; "TRAILER!!!" ends the archive.
 */
export class CpioWriter {
  private readonly stream;
  private inode = 1;

  constructor(file: string) {
    this.stream = createWriteStream(file);
  }

  directory(name: string, mode = 0o755): Promise<void> {
    return this.entry(name, 0o040000 | mode, Buffer.alloc(0));
  }

  file(name: string, data: Buffer | string, mode = 0o644): Promise<void> {
    return this.entry(name, 0o100000 | mode, typeof data === 'string' ? Buffer.from(data) : data);
  }

  symlink(name: string, target: string): Promise<void> {
    return this.entry(name, 0o120000 | 0o777, Buffer.from(target));
  }

  async close(): Promise<void> {
    await this.entry('TRAILER!!!', 0, Buffer.alloc(0), 0);
    this.stream.end();
    await once(this.stream, 'finish');
  }

  private async entry(name: string, mode: number, data: Buffer, ino = this.inode++): Promise<void> {
    const nameBytes = Buffer.from(`${name.replace(/^\/+/, '')}\0`);
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    const header =
      '070701' + [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0].map(hex).join('');
    await this.write(Buffer.from(header, 'ascii'));
    await this.write(nameBytes);
    await this.write(padding(110 + nameBytes.length));
    await this.write(data);
    await this.write(padding(data.length));
  }

  private async write(chunk: Buffer): Promise<void> {
    if (chunk.length > 0 && !this.stream.write(chunk)) await once(this.stream, 'drain');
  }
}

const padding = (length: number) => Buffer.alloc((4 - (length % 4)) % 4);
