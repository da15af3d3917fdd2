/**
 * What a folder tree is, file by file: type, mode, device numbers, symlink text and content (a hash; for
 * big files, of their size and both ends, so that a sparse multi-GiB file costs nothing). Symlinks are
 * recorded, never followed; FIFOs and devices are never opened.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import path from 'node:path';

export interface Entry {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block' | 'socket';
  mode: number;
  rdev?: number;
  size?: number;
  content?: string;
  link?: string;
}

export type Snapshot = Map<string, Entry>;

const WHOLE_BELOW = 1 << 20;
const END_BYTES = 64 * 1024;

function hashFile(file: string, size: number): string {
  const hash = createHash('sha1');
  const fd = openSync(file, 'r');
  try {
    const read = (position: number, length: number) => {
      const buffer = Buffer.alloc(length);
      const n = readSync(fd, buffer, 0, length, position);
      hash.update(buffer.subarray(0, n));
    };
    if (size < WHOLE_BELOW) read(0, size);
    else {
      read(0, END_BYTES);
      read(size - END_BYTES, END_BYTES);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function entryOf(file: string): Entry {
  const st = lstatSync(file);
  const mode = st.mode & 0o7777;
  if (st.isSymbolicLink()) return { type: 'symlink', mode, link: readlinkSync(file) };
  if (st.isDirectory()) return { type: 'dir', mode };
  if (st.isFIFO()) return { type: 'fifo', mode };
  if (st.isCharacterDevice()) return { type: 'char', mode, rdev: st.rdev };
  if (st.isBlockDevice()) return { type: 'block', mode, rdev: st.rdev };
  if (st.isSocket()) return { type: 'socket', mode };
  let content: string;
  try {
    content = hashFile(file, st.size);
  } catch (error) {
    content = `unreadable: ${(error as NodeJS.ErrnoException).code}`;
  }
  return { type: 'file', mode, size: st.size, content };
}

/** Every entry under `dir` (relative paths; '.' is `dir` itself). */
export function snapshot(dir: string): Snapshot {
  const out: Snapshot = new Map();
  const walk = (rel: string) => {
    const full = path.join(dir, rel);
    let entry: Entry;
    try {
      entry = entryOf(full);
    } catch {
      return;
    }
    out.set(rel, entry);
    if (entry.type !== 'dir') return;
    let names: string[] = [];
    try {
      names = readdirSync(full);
    } catch {
      return;
    }
    for (const name of names.sort()) walk(rel === '.' ? name : path.join(rel, name));
  };
  walk('.');
  return out;
}

const describe = (e: Entry | undefined) =>
  e === undefined
    ? 'absent'
    : `${e.type} ${e.mode.toString(8)}${e.rdev === undefined ? '' : ` rdev ${e.rdev}`}${e.link === undefined ? '' : ` -> ${e.link}`}${e.size === undefined ? '' : ` ${e.size} bytes`}`;

export interface Allowed {
  /** Paths whose content may change (type and mode may not, unless absent before). */
  content: ReadonlySet<string>;
}

/** The differences between two snapshots that `allowed` does not cover, as lines of text. */
export function changes(before: Snapshot, after: Snapshot, allowed: Allowed): string[] {
  const out: string[] = [];
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const a = before.get(key);
    const b = after.get(key);
    if (a && b && JSON.stringify(a) === JSON.stringify(b)) continue;
    if (allowed.content.has(key)) {
      if (!a && b?.type === 'file') continue; // created where a new file was asked for
      if (a && b && a.type === b.type && a.mode === b.mode && a.rdev === b.rdev && a.link === b.link)
        continue;
    }
    out.push(`${key}: ${describe(a)} became ${describe(b)}`);
  }
  return out;
}
