import { open } from 'node:fs/promises';

/** Follows a file QEMU appends to (a chardev), handing on each new chunk; `drain` reads what is left. */
export class FileFollower {
  private offset = 0;

  constructor(
    private readonly file: string,
    private readonly onData: (chunk: Buffer) => void,
  ) {}

  async poll(): Promise<void> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.file, 'r');
    } catch {
      return;
    }
    try {
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        this.onData(Buffer.from(buffer.subarray(0, bytesRead)));
      }
    } finally {
      await handle.close();
    }
  }
}

/** What the guest's /init reports on its status port, one line each. */
export interface GuestStatus {
  bootedAt?: number;
  readyAt?: number;
  exitCode?: number;
  exitedAt?: number;
  memdevs: { name: string; serial: string }[];
  failedModules: string[];
}

export function parseStatus(text: string): GuestStatus {
  const status: GuestStatus = { memdevs: [], failedModules: [] };
  for (const line of text.split('\n')) {
    const [word, a, b] = line.trim().split(/\s+/);
    if (word === 'booted') status.bootedAt = Number(a);
    else if (word === 'ready') status.readyAt = Number(a);
    else if (word === 'memdev' && a && b) status.memdevs.push({ name: a, serial: b });
    else if (word === 'module-failed' && a) status.failedModules.push(a);
    else if (word === 'exit' && a !== undefined) {
      status.exitCode = Number(a);
      status.exitedAt = Number(b);
    }
  }
  return status;
}

/** A POSIX shell word for any argument. */
export const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
