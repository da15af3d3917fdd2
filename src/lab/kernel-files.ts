import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, MemregionError, unavailableError } from '../core/errors.js';
import { requireInputPath } from '../core/input-file.js';

/** A kernel the lab can boot: the image, its modules folder, its release and (when found) its config. */
export interface KernelFiles {
  image: string;
  modulesDir: string;
  release: string;
  config: string | null;
  /** Where it came from, for the summary: a Debian package or the user's files. */
  source: { kind: 'debian'; packages: string[]; suite: string } | { kind: 'files' };
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/**
 * The config that belongs to a modules folder `.../lib/modules/<release>`: Debian 7.x keeps it there as
 * `config`, older packages and most distributions as `/boot/config-<release>` beside `lib/`.
 */
export async function findKernelConfig(modulesDir: string, image?: string): Promise<string | null> {
  const release = path.basename(modulesDir);
  const tops = [path.resolve(modulesDir, '../../..'), path.resolve(modulesDir, '../../../..')];
  const candidates = [
    path.join(modulesDir, 'config'),
    ...(image ? [path.join(path.dirname(image), `config-${release}`)] : []),
    ...tops.map((top) => path.join(top, 'boot', `config-${release}`)),
  ];
  for (const candidate of candidates) if (await exists(candidate)) return candidate;
  return null;
}

/**
 * Checks user-given `--kernel FILE --modules DIR` and finds the release and config that go with them. They
 * are input files: one that is missing, unreadable or of the wrong kind is 66 with one line naming it (a
 * device such as /dev/zero as the image would have been handed to QEMU).
 */
export async function userKernel(image: string, modulesDir: string): Promise<KernelFiles> {
  await requireInputPath(image, '--kernel', 'file');
  await requireInputPath(modulesDir, '--modules', 'folder');
  if (!(await exists(path.join(modulesDir, 'kernel')))) {
    throw new MemregionError(
      `--modules ${modulesDir}: not a modules folder (lib/modules/<release>, with kernel/ inside)`,
      ExitCode.NO_INPUT,
    );
  }
  const resolved = path.resolve(modulesDir);
  return {
    image: path.resolve(image),
    modulesDir: resolved,
    release: path.basename(resolved),
    config: await findKernelConfig(resolved, image),
    source: { kind: 'files' },
  };
}

/** Finds the kernel in a folder where Debian kernel packages were unpacked (either layout). */
export async function unpackedKernel(root: string, source: KernelFiles['source']): Promise<KernelFiles> {
  for (const base of ['usr/lib/modules', 'lib/modules']) {
    let releases: string[];
    try {
      releases = await readdir(path.join(root, base));
    } catch {
      continue;
    }
    for (const release of releases) {
      const modulesDir = path.join(root, base, release);
      const image = [path.join(modulesDir, 'vmlinuz'), path.join(root, 'boot', `vmlinuz-${release}`)];
      for (const candidate of image) {
        if (await exists(candidate)) {
          return {
            image: candidate,
            modulesDir,
            release,
            config: await findKernelConfig(modulesDir, candidate),
            source,
          };
        }
      }
    }
  }
  throw unavailableError(`no kernel image found in the unpacked packages under ${root}`);
}
