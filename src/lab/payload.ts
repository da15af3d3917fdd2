import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unavailableError } from '../core/errors.js';
import type { Initramfs } from './initramfs.js';

/** The memregion package this process runs from (the folder with its package.json). */
export async function packageRoot(from = path.dirname(fileURLToPath(import.meta.url))): Promise<string> {
  let dir = from;
  for (;;) {
    try {
      const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'memregion') return dir;
    } catch {}
    const up = path.dirname(dir);
    if (up === dir) throw unavailableError('cannot find the memregion package this runs from');
    dir = up;
  }
}

/** The production dependencies' folders, through every package.json's `dependencies` (npm's flat node_modules). */
export async function productionPackages(root: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue: string[] = [root];
  const folders: string[] = [];
  while (queue.length > 0) {
    const dir = queue.shift()!;
    let pkg: { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    try {
      pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    for (const name of Object.keys(pkg.dependencies ?? {})) {
      const nested = path.join(dir, 'node_modules', name);
      const flat = path.join(root, 'node_modules', name);
      const found = (await access(nested).then(
        () => true,
        () => false,
      ))
        ? nested
        : flat;
      if (seen.has(found)) continue;
      seen.add(found);
      folders.push(found);
      queue.push(found);
    }
  }
  return folders;
}

/**
 * The memregion build in the guest under /opt/memregion (bin/, dist/cli/, package.json, production
 * node_modules) with `memregion` on PATH, and the host's node with its libraries: the guest runs exactly
 * the build that started the lab.
 */
export async function addMemregion(image: Initramfs, node: string): Promise<void> {
  const root = await packageRoot();
  const guest = '/opt/memregion';
  try {
    await access(path.join(root, 'dist', 'cli', 'main.cjs'));
  } catch {
    throw unavailableError(`no build in ${root}/dist: run "npm run build" first`);
  }
  await image.hostProgram(node, '/usr/bin/node');
  await image.hostFile(path.join(root, 'package.json'), `${guest}/package.json`);
  // bin/ is the entry, its loader and the package.json that makes them CommonJS.
  await image.hostTree(path.join(root, 'bin'), `${guest}/bin`);
  // Not the code cache: V8 rejects a cache made without the guest's --jitless.
  await image.hostTree(
    path.join(root, 'dist', 'cli'),
    `${guest}/dist/cli`,
    (rel) => !rel.endsWith('.map') && !rel.endsWith('.cache'),
  );
  for (const folder of await productionPackages(root)) {
    const rel = path.relative(root, folder);
    await image.hostTree(
      folder,
      path.posix.join(guest, rel),
      (r) => !r.endsWith('.map') && !r.endsWith('.d.ts') && !r.endsWith('.md'),
    );
  }
  // Under TCG, V8's JIT costs more than it saves: --jitless halves start-up. As flags, not NODE_OPTIONS:
  // there --no-expose-wasm is refused, and without it --jitless warns on stderr.
  await image.file(
    '/usr/bin/memregion',
    `#!/bin/sh\nexec /usr/bin/node --jitless --no-expose-wasm ${guest}/bin/memregion "$@"\n`,
    0o755,
  );
}
