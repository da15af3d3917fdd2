import type { Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { bootConfig, EVIDENCE, PLATFORM_FILES, RELEASE_NAME, type TreeSpec } from './evidence-manifest.js';
import { COLLECT_MANIFEST, MAX_KERNEL_FILE_BYTES, type SysRoot } from './fs.js';
import { readKmsgRing } from './kmsg.js';

/** One entry of a collected tree, at its path relative to the root (links resolved as the kernel has them). */
export type CollectedEntry =
  | { type: 'file'; data: Buffer }
  | { type: 'directory' }
  | { type: 'symlink'; target: string };

export interface CollectManifest {
  tool: 'memregion collect';
  version: string;
  created: string;
  root: string;
  /** Effective uid of the collector: without root, kmsg, debugfs and kallsyms addresses are hidden. */
  uid: number | null;
  files: number;
  bytes: number;
  /** Files that exist but could not be read; the tree has an empty file there, and the probe reports this error. */
  unreadable: { path: string; code: string }[];
  /** Links that lead out of the root: recorded nowhere, not followed. */
  not_followed: { path: string; target: string }[];
  notes: string[];
}

export interface Collection {
  entries: Map<string, CollectedEntry>;
  manifest: CollectManifest;
}

const MAX_LINK_HOPS = 40;

/**
 * The most file content one collection holds (it is kept in memory, then staged and packed). A machine's
 * evidence is far less (kallsyms some 15 MiB, the kmsg ring at most 32 MiB, the rest a few MiB); each file
 * is bounded by itself, but a --root tree of many large (sparse) files was collected whole: 384 MiB of
 * `targetN` files cost 580 MB. Past the budget a file is recorded empty, unreadable with EFBIG.
 */
export const MAX_COLLECTED_BYTES = 4 * MAX_KERNEL_FILE_BYTES;

/**
 * Copies the evidence of EVIDENCE (evidence-manifest.ts) out of `sys` into memory: files with what the
 * readers would read (bounded, non-blocking; the kmsg ring up to EAGAIN), links as links. A link on the
 * way to a file is kept as a link, and the file is recorded where the link leads, so the tree has the
 * kernel's own layout (`sys/bus/cxl/devices/region0` -> `../../../devices/...`). An absolute link is
 * rewritten relative to its place in the tree, and a link that leaves the root is not followed.
 */
export async function collectEvidence(
  sys: SysRoot,
  version: string,
  now = new Date(),
  signal?: AbortSignal,
): Promise<Collection> {
  const collector = new Collector(sys, signal);
  const release = (await sys.value(PLATFORM_FILES.osrelease)) ?? '';
  for (const item of EVIDENCE) {
    if (signal?.aborted) break;
    if (item.kind === 'file') await collector.file(item.path);
    else if (item.kind === 'ring') await collector.ring(item.path);
    else await collector.tree(item.path, item.spec);
  }
  if (RELEASE_NAME.test(release)) await collector.file(bootConfig(release));
  let bytes = 0;
  let files = 0;
  for (const entry of collector.entries.values()) {
    if (entry.type !== 'file') continue;
    files++;
    bytes += entry.data.length;
  }
  const notes = [
    'a tree spelled as the kernel spells it: memregion probe --root <this directory> and regions --root read it',
    'dev/kmsg is the kernel log ring as a plain file, read up to its end when collected',
  ];
  if (sys.isRealRoot && process.getuid?.() !== 0)
    notes.push(
      'collected without root: /proc/kallsyms shows every address as zero, /proc/iomem too, and kmsg and debugfs may be unreadable',
    );
  const manifest: CollectManifest = {
    tool: 'memregion collect',
    version,
    created: now.toISOString(),
    root: sys.root,
    uid: process.getuid?.() ?? null,
    files,
    bytes,
    unreadable: collector.unreadable,
    not_followed: collector.notFollowed,
    notes,
  };
  collector.entries.set(COLLECT_MANIFEST, {
    type: 'file',
    data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`),
  });
  return { entries: collector.entries, manifest };
}

class Collector {
  readonly entries = new Map<string, CollectedEntry>();
  readonly unreadable: CollectManifest['unreadable'] = [];
  readonly notFollowed: CollectManifest['not_followed'] = [];
  /** Content bytes recorded so far. */
  private bytes = 0;
  private readonly sys: SysRoot;
  /** lstat of every path looked at: the walk passes the same directories again and again. */
  private readonly stats = new Map<string, Promise<Stats | null>>();

  /** Once aborted, the walk stops where it is (the caller sees the signal and drops the collection). */
  private readonly signal: AbortSignal | undefined;

  constructor(sys: SysRoot, signal?: AbortSignal) {
    this.sys = sys;
    this.signal = signal;
  }

  private lstat(at: string): Promise<Stats | null> {
    let stat = this.stats.get(at);
    if (!stat) {
      stat = lstat(this.sys.resolve(at)).catch(() => null);
      this.stats.set(at, stat);
    }
    return stat;
  }

  /** A file read for its content, recorded at the end of its links. */
  async file(logical: string): Promise<void> {
    const found = await this.locate(logical);
    if (!found) return;
    if (found.stat.isDirectory()) {
      this.directory(found.at);
      return;
    }
    const read = await this.sys.readBytes(found.at);
    const data = read.ok ? read.bytes : Buffer.alloc(0);
    if (!read.ok) this.unreadable.push({ path: logical, code: read.code });
    this.putData(logical, found.at, data);
  }

  /** A file's content, within the budget (MAX_COLLECTED_BYTES): past it, empty and unreadable (EFBIG). */
  private putData(logical: string, at: string, data: Buffer): void {
    if (this.entries.get(at)?.type === 'file') return;
    if (this.bytes + data.length > MAX_COLLECTED_BYTES) {
      this.unreadable.push({ path: logical, code: 'EFBIG' });
      this.put(at, { type: 'file', data: Buffer.alloc(0) });
      return;
    }
    this.bytes += data.length;
    this.put(at, { type: 'file', data });
  }

  /** The kmsg ring: every record up to EAGAIN, as one plain file. */
  async ring(logical: string): Promise<void> {
    const found = await this.locate(logical);
    if (!found) return;
    const chunks: Buffer[] = [];
    const code = await readKmsgRing(this.sys, (chunk, length) => {
      chunks.push(Buffer.from(chunk.subarray(0, length)));
    });
    if (code !== null) this.unreadable.push({ path: logical, code });
    this.putData(logical, found.at, Buffer.concat(chunks));
  }

  /** A directory as `spec` describes it (evidence-manifest.ts, TreeSpec). */
  async tree(logical: string, spec: TreeSpec): Promise<void> {
    const found = await this.locate(logical);
    if (!found?.stat.isDirectory()) return;
    this.directory(found.at);
    let names: string[];
    try {
      names = (await readdir(this.sys.resolve(found.at))).sort();
    } catch {
      return;
    }
    const at = (name: string) => `${logical}/${name}`;
    for (const file of spec.files ?? []) await this.file(at(file));
    for (const name of names) {
      if (this.signal?.aborted) return;
      if (spec.filePatterns?.some((p) => p.test(name))) await this.file(at(name));
      const child = spec.children?.find((c) => c.match.test(name));
      if (child) await this.tree(at(name), child.spec);
      if (spec.listed) await this.placeholder(at(name));
    }
    for (const link of spec.links ?? []) await this.placeholder(at(link));
    for (const present of spec.presence ?? []) await this.placeholder(at(present));
  }

  /** What is at `logical`, without its content: a directory, an empty file, or the link itself (not followed). */
  private async placeholder(logical: string): Promise<void> {
    const parent = await this.locate(path.posix.dirname(logical));
    if (!parent?.stat.isDirectory()) return;
    const at = `${parent.at}/${path.posix.basename(logical)}`;
    if (this.entries.has(at)) return;
    const stat = await this.lstat(at);
    if (!stat) return;
    if (stat.isSymbolicLink()) {
      const target = await readlink(this.sys.resolve(at)).catch(() => null);
      if (target !== null) this.put(at, { type: 'symlink', target: this.inTree(at, target) });
    } else if (stat.isDirectory()) this.directory(at);
    else this.put(at, { type: 'file', data: Buffer.alloc(0) });
  }

  /**
   * Resolves `logical` component by component inside the root, as the kernel would: each link on the way
   * is recorded (rewritten to stay in the tree) and followed. Null when nothing is there, or a link leads
   * out of the root or loops.
   */
  private async locate(logical: string): Promise<{ at: string; stat: Stats } | null> {
    const pending = logical.split('/').filter((c) => c !== '' && c !== '.');
    const done: string[] = [];
    let hops = 0;
    let stat: Stats | null = null;
    while (pending.length > 0) {
      const component = pending.shift()!;
      if (component === '..') {
        // Above the root: a link that leaves it (the caller records it).
        if (done.length === 0) {
          this.notFollowed.push({ path: logical, target: '..' });
          return null;
        }
        done.pop();
        continue;
      }
      const at = [...done, component].join('/');
      stat = await this.lstat(at);
      if (!stat) return null;
      if (!stat.isSymbolicLink()) {
        done.push(component);
        continue;
      }
      if (++hops > MAX_LINK_HOPS) return null;
      let target: string;
      try {
        target = await readlink(this.sys.resolve(at));
      } catch {
        return null;
      }
      const resolved = this.resolveLink(done, target);
      if (resolved === null) {
        this.notFollowed.push({ path: at, target });
        return null;
      }
      this.put(at, { type: 'symlink', target: this.inTree(at, target) });
      pending.unshift(...resolved.pending);
      done.splice(0, done.length, ...resolved.base);
    }
    stat ??= await this.lstat('.');
    return stat ? { at: done.join('/'), stat } : null;
  }

  /** Where a link's target starts from, and what remains to walk (`..` included); null when it leaves the root. */
  private resolveLink(dir: string[], target: string): { base: string[]; pending: string[] } | null {
    const absolute = target.startsWith('/');
    if (absolute && !this.sys.isRealRoot) return null;
    return {
      base: absolute ? [] : [...dir],
      pending: target.split('/').filter((c) => c !== '' && c !== '.'),
    };
  }

  /** A link target as the tree stores it: relative, so that the unpacked tree never points outside itself. */
  private inTree(at: string, target: string): string {
    if (!target.startsWith('/')) return target;
    const relative = path.posix.relative(path.posix.dirname(`/${at}`), path.posix.normalize(target));
    return relative === '' ? '.' : relative;
  }

  private directory(at: string): void {
    if (at !== '' && !this.entries.has(at)) this.put(at, { type: 'directory' });
  }

  private put(at: string, entry: CollectedEntry): void {
    if (at === '') return;
    // Parents first: an archive lists a directory before what is in it.
    const parts = at.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!this.entries.has(parent)) this.entries.set(parent, { type: 'directory' });
    }
    const existing = this.entries.get(at);
    if (existing && existing.type !== 'directory') return;
    this.entries.set(at, entry);
  }
}
