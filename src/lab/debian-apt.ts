import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { unavailableError } from '../core/errors.js';
import { makeDirs } from '../core/make-dirs.js';
import { findDebianArchive } from './apt-sources.js';
import type { LabArch } from './options.js';

/** Debian's name for the architecture, as in package names and `APT::Architecture`. */
export const debianArch = (arch: LabArch) => (arch === 'x86_64' ? 'amd64' : 'arm64');

const DAY_MS = 24 * 3600 * 1000;

/**
 * One suite of the machine's own Debian archive for one architecture, through a private apt configuration
 * under the cache folder (its own sources.list, lists and archive cache), so that the machine's apt state
 * is never touched; packages come with `apt-get download` and are unpacked with dpkg-deb.
 */
export class PrivateApt {
  readonly dir: string;
  readonly arch: string;
  private options: string[] = [];

  constructor(
    private readonly cacheDir: string,
    readonly suite: string,
    arch: LabArch,
  ) {
    this.arch = debianArch(arch);
    this.dir = path.join(cacheDir, 'apt', `${suite}-${this.arch}`);
  }

  /** Writes the configuration and refreshes the package lists once a day. */
  async prepare(onProgress?: (text: string) => void): Promise<void> {
    const archive = await findDebianArchive();
    if (!archive) {
      throw unavailableError(
        "no Debian archive in this machine's apt sources (/etc/apt): give --kernel FILE --modules DIR instead",
      );
    }
    await makeDirs(path.join(this.dir, 'lists', 'partial'), 'the lab cache folder');
    await makeDirs(path.join(this.dir, 'cache', 'archives', 'partial'), 'the lab cache folder');
    const signed = archive.signedBy && !/\s/.test(archive.signedBy) ? `[signed-by=${archive.signedBy}] ` : '';
    await writeFile(path.join(this.dir, 'sources.list'), `deb ${signed}${archive.uri} ${this.suite} main\n`);
    this.options = [
      `-oDir::Etc::sourcelist=${path.join(this.dir, 'sources.list')}`,
      '-oDir::Etc::sourceparts=-',
      `-oDir::State::Lists=${path.join(this.dir, 'lists')}`,
      `-oDir::Cache=${path.join(this.dir, 'cache')}`,
      `-oAPT::Architecture=${this.arch}`,
      `-oAPT::Architectures::=${this.arch}`,
      '-oAPT::Sandbox::User=root',
      '-q',
    ];
    const stamp = path.join(this.dir, 'updated');
    const fresh = await stat(stamp).then(
      (s) => Date.now() - s.mtimeMs < DAY_MS,
      () => false,
    );
    if (fresh) return;
    onProgress?.(
      `updating the package lists of Debian ${this.suite} (${this.arch}) in a private apt configuration`,
    );
    await this.run('apt-get', ['update']);
    await writeFile(stamp, `${new Date().toISOString()}\n`);
  }

  /** Package names that start with `prefix`. */
  async names(prefix: string): Promise<string[]> {
    return (await this.run('apt-cache', ['pkgnames', prefix])).split('\n').filter(Boolean);
  }

  /** The packages unpacked together into one cached folder (downloaded once). */
  async unpack(packages: string[], key: string, onProgress?: (text: string) => void): Promise<string> {
    const unpacked = path.join(this.cacheDir, 'unpacked', `${this.suite}-${this.arch}-${key}`);
    const done = path.join(unpacked, '.complete');
    if (
      await readFile(done, 'utf8').then(
        () => true,
        () => false,
      )
    )
      return unpacked;
    const debs = path.join(this.dir, 'debs');
    await makeDirs(debs, 'the lab cache folder');
    onProgress?.(`downloading ${packages.join(', ')} (Debian ${this.suite})`);
    await this.run('apt-get', ['download', ...packages.map((p) => `${p}:${this.arch}`)], debs);
    const partial = `${unpacked}.partial`;
    await rm(partial, { recursive: true, force: true });
    await makeDirs(partial, 'the lab cache folder');
    const { execa } = await import('execa');
    for (const file of await readdir(debs)) {
      if (!packages.some((p) => file.startsWith(`${p}_`))) continue;
      onProgress?.(`unpacking ${file}`);
      const result = await execa('dpkg-deb', ['-x', path.join(debs, file), partial], {
        reject: false,
        stdin: 'ignore',
      });
      if (result.failed)
        throw unavailableError(
          `dpkg-deb -x ${file} failed: ${String(result.stderr).trim() || result.exitCode}`,
        );
      await rm(path.join(debs, file), { force: true });
    }
    await rm(path.join(partial, 'usr', 'share'), { recursive: true, force: true });
    await rm(unpacked, { recursive: true, force: true });
    await rename(partial, unpacked);
    await writeFile(done, `${packages.join('\n')}\n`);
    return unpacked;
  }

  private async run(tool: 'apt-get' | 'apt-cache', args: string[], cwd?: string): Promise<string> {
    const { execa } = await import('execa');
    const result = await execa(tool, [...this.options, ...args], { reject: false, cwd, stdin: 'ignore' });
    if (result.failed) {
      if ((result as { code?: string }).code === 'ENOENT') {
        throw unavailableError(`${tool} is not installed: give --kernel FILE --modules DIR instead`);
      }
      const last = String(result.stderr)
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('E:'))
        .pop();
      throw unavailableError(
        `${tool} ${args[0]} (Debian ${this.suite}, ${this.arch}) failed: ${last ?? `exit ${result.exitCode}`}`,
      );
    }
    return String(result.stdout);
  }
}
