import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** One Debian archive the machine's apt already uses: the URI and the keyring that signs it. */
export interface AptArchive {
  uri: string;
  signedBy?: string;
}

/**
 * The machine's own Debian archive, read from its apt sources (deb822 `*.sources` and one-line
 * `*.list`), so that the lab never names a mirror itself. Security archives are skipped: kernels of the
 * newest suite are only in the main archive.
 */
export async function findDebianArchive(etcApt = '/etc/apt'): Promise<AptArchive | null> {
  const candidates: AptArchive[] = [];
  const files: string[] = [path.join(etcApt, 'sources.list')];
  try {
    for (const name of (await readdir(path.join(etcApt, 'sources.list.d'))).sort()) {
      if (name.endsWith('.sources') || name.endsWith('.list'))
        files.push(path.join(etcApt, 'sources.list.d', name));
    }
  } catch {}
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    candidates.push(...(file.endsWith('.sources') ? parseDeb822(text) : parseOneLine(text)));
  }
  return candidates.find((a) => /\/debian\/?$/.test(a.uri) && !/security/.test(a.uri)) ?? null;
}

export function parseDeb822(text: string): AptArchive[] {
  const archives: AptArchive[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (match) fields.set(match[1]!.toLowerCase(), match[2]!.trim());
    }
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes') === 'no') continue;
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) {
      archives.push({ uri, signedBy: fields.get('signed-by') });
    }
  }
  return archives;
}

export function parseOneLine(text: string): AptArchive[] {
  const archives: AptArchive[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const match = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)/.exec(line);
    if (!match) continue;
    const signedBy = /signed-by=(\S+)/.exec(match[1] ?? '')?.[1];
    archives.push({ uri: match[2]!, signedBy });
  }
  return archives;
}
