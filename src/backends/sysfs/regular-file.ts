import { closeSync, constants, fstatSync, openSync, type Stats, statSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/**
 * Writes to the kernel's files (sysfs attributes, tracefs controls), which are regular files. In a --root
 * tree something else may stand in their place: a FIFO blocked the open for ever (`erase --timeout 2s`
 * hung, and `trace` hung in its exit hook, deaf to a second SIGTERM), and a device node would take root's
 * write (`mknod sanitize b 8 0`: root writing `1` to a disk). So what is there must be a regular file,
 * checked before the open and again on the descriptor, which is opened non-blocking and never as a
 * controlling terminal.
 */
const WRITE = constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** The error for a non-regular file where a kernel file should be; its code is the reason shown. */
export const notRegularFile = (file: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${file} is not a regular file`), { code: 'not a regular file' });

export interface RegularWrite {
  /** O_TRUNC or O_APPEND */
  flags: number;
  /** Create the file when it is missing (a test tree's plain tracefs files), as `echo >` would. */
  create: boolean;
}

/** What stands at `file` when it may be written: a regular file, or nothing when `create`. */
function checkStanding(file: string, info: Stats | null): void {
  if (info !== null && !info.isFile()) throw notRegularFile(file);
}

const missingAllowed = (error: unknown, create: boolean): null => {
  if (create && (error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  throw error;
};

const openFlags = ({ flags, create }: RegularWrite) => WRITE | flags | (create ? constants.O_CREAT : 0);

export async function writeRegularFile(file: string, text: string, how: RegularWrite): Promise<void> {
  checkStanding(file, await stat(file).catch((error) => missingAllowed(error, how.create)));
  const handle = await open(file, openFlags(how), 0o644);
  try {
    if (!(await handle.stat()).isFile()) throw notRegularFile(file);
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

export function writeRegularFileSync(file: string, text: string, how: RegularWrite): void {
  let info: Stats | null;
  try {
    info = statSync(file);
  } catch (error) {
    info = missingAllowed(error, how.create);
  }
  checkStanding(file, info);
  const fd = openSync(file, openFlags(how), 0o644);
  try {
    if (!fstatSync(fd).isFile()) throw notRegularFile(file);
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
