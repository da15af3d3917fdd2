import { mkdir, mkdtemp, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExitCode, MemregionError } from './errors.js';

/**
 * `mkdir -p`: makes `dir` and whichever folders above it are missing, top down, and returns the folders
 * it made (top down), for `removeMadeDirs` to take back when the command then refuses. It throws the
 * first mkdir error that is not EEXIST (its code and path), or ENOTDIR when `dir` is there but not a
 * folder, having removed again what it made; given `what` (`"--out folder"`), that error is one line
 * naming it and the code, exit 73.
 *
 * Not Node's `mkdir(dir, { recursive: true })`: on Node 20 that loops forever, at full CPU, when mkdir
 * answers ENOENT below a folder that exists, as procfs and sysfs do (`--out /proc/x`, XDG_CACHE_HOME=/sys):
 * MKDirpSync/MKDirpAsync (src/node_file.cc) take the ENOENT for a missing parent, find the parent there
 * (EEXIST) and try the child again. The synchronous form never yields, so not even SIGTERM ends it.
 */
export async function makeDirs(dir: string, what?: string): Promise<string[]> {
  const made: string[] = [];
  try {
    await makeChain(path.resolve(dir), made);
    return made;
  } catch (error) {
    await removeMadeDirs(made);
    if (what === undefined) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new MemregionError(`cannot create ${what} ${dir} (${code})`, ExitCode.CANT_CREAT, { cause: error });
  }
}

async function makeChain(full: string, made: string[]): Promise<void> {
  const chain: string[] = [];
  for (let at = full; at !== path.dirname(at); at = path.dirname(at)) chain.unshift(at);
  for (const at of chain) {
    try {
      await mkdir(at);
      made.push(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  if (!(await stat(full)).isDirectory())
    throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${full}'`), {
      code: 'ENOTDIR',
      path: full,
    });
}

/**
 * Takes back the folders `makeDirs` made, deepest first, as long as they are still empty (rmdir): a
 * refusal leaves no folder it made, and never removes anything that was put in one.
 */
export async function removeMadeDirs(made: readonly string[]): Promise<void> {
  for (const dir of [...made].reverse()) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
  }
}

/**
 * A private new folder in the temporary folder (mkdtemp, mode 0700), or one line and 73 when that cannot
 * be made (TMPDIR missing, read-only, not a folder), instead of the internal error a bare mkdtemp gives.
 */
export async function makeTempDir(prefix: string): Promise<string> {
  const base = tmpdir();
  try {
    return await mkdtemp(path.join(base, prefix));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new MemregionError(
      `cannot create a temporary folder in ${base} (${code}): set TMPDIR to a folder that exists and is writable`,
      ExitCode.CANT_CREAT,
      { cause: error },
    );
  }
}
