import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '../../core/make-dirs.js';
import type { CollectedEntry } from './collector.js';

/** The one directory every archive entry is under, so that unpacking never scatters files into the cwd. */
export const ARCHIVE_TOP = 'memregion-evidence';

/**
 * A gzip'd tar of the collected tree under ARCHIVE_TOP/, by node-tar (npm's own tar, which keeps links
 * as links): the tree is laid out in a private temporary directory, packed portable (no owner names or
 * ids), and the directory removed again. Null when `signal` stops it first.
 */
export async function packEvidence(
  entries: Map<string, CollectedEntry>,
  signal?: AbortSignal,
): Promise<Buffer | null> {
  const { create } = await import('tar');
  const staging = await makeTempDir('memregion-collect-');
  try {
    const top = path.join(staging, ARCHIVE_TOP);
    await mkdir(top, { mode: 0o755 });
    for (const [relative, entry] of entries) {
      if (signal?.aborted) return null;
      const at = path.join(top, relative);
      if (entry.type === 'directory') await mkdir(at, { recursive: true, mode: 0o755 });
      else if (entry.type === 'symlink') await symlink(entry.target, at);
      else await writeFile(at, entry.data, { mode: 0o644, flag: 'wx' });
    }
    const chunks: Buffer[] = [];
    const stream = create({ gzip: true, cwd: staging, portable: true }, [ARCHIVE_TOP]);
    for await (const chunk of stream) {
      if (signal?.aborted) return null;
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
    return Buffer.concat(chunks);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
