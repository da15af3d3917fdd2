import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, MemregionError, unavailableError } from '../core/errors.js';
import { makeDirs, makeTempDir } from '../core/make-dirs.js';
import { labCacheDir } from './cache.js';
import { debianBusybox, debianKernel } from './debian-kernel.js';
import { COLLECT_SCRIPT, GUEST_INIT } from './guest-scripts.js';
import { compressInitramfs, Initramfs } from './initramfs.js';
import { type KernelFiles, userKernel } from './kernel-files.js';
import { CXL_MODULES, resolveModules } from './modules.js';
import type { LabOptions } from './options.js';
import { addMemregion } from './payload.js';
import { findQemu, type QemuInfo, qemuArgs } from './qemu.js';
import { FileFollower, type GuestStatus, parseStatus, shellQuote } from './session.js';

export interface LabRequest extends LabOptions {
  command: string[];
  cacheDir?: string;
  onProgress?: (text: string) => void;
  onStdout: (chunk: Buffer) => void;
  onStderr: (chunk: Buffer) => void;
  signal?: AbortSignal;
}

/** The `--json` summary (snake_case, sizes as decimal strings). */
export interface LabSummary {
  arch: string;
  cpu: string;
  accel: 'tcg';
  kernel: { release: string; source: string; packages: string[] | null; image: string };
  qemu: { binary: string; version: string };
  topology: {
    cxl: { kind: string; size: string; serial: string; memdev: string | null }[];
  };
  modules: { loaded: string[]; missing: string[]; failed: string[] };
  command: { argv: string[]; exit_code: number; stdout?: string };
  duration_ms: { prepare: number; boot: number; command: number; total: number };
  kept: string | null;
}

/** `--kernel FILE --modules DIR`, checked before anything else (a bad input is the first answer), or null. */
async function givenKernel(request: LabRequest): Promise<KernelFiles | null> {
  if (request.kernel === undefined && request.modules === undefined) return null;
  if (request.kernel === undefined || request.modules === undefined)
    throw new MemregionError('--kernel and --modules go together', ExitCode.USAGE);
  if (request.kernel === '' || request.modules === '')
    throw new MemregionError('--kernel and --modules need a file and a folder name', ExitCode.USAGE);
  return userKernel(request.kernel, request.modules);
}

async function debianNewest(request: LabRequest, cacheDir: string): Promise<KernelFiles> {
  request.onProgress?.("no --kernel given: using Debian's newest kernel packages");
  return debianKernel({ arch: request.arch, suite: 'sid', cacheDir, onProgress: request.onProgress });
}

const ports = ['status', 'stdout', 'stderr', 'files'];

/** Prepares the VM (kernel, modules, initramfs), boots it, streams the command's output, returns the summary. */
export async function runLab(request: LabRequest): Promise<LabSummary> {
  const started = Date.now();
  const cacheDir = request.cacheDir ?? labCacheDir();
  const given = await givenKernel(request);
  const qemu: QemuInfo = await findQemu(request.arch);
  const kernel = given ?? (await debianNewest(request, cacheDir));
  const busybox = await debianBusybox(cacheDir, request.arch, request.onProgress);
  const work = await makeTempDir('memregion-lab-');
  let keep = request.keep;
  try {
    request.onProgress?.(`building the initramfs for Linux ${kernel.release}`);
    const early = await resolveModules(kernel.modulesDir, ['virtio_pci', 'virtio_console']);
    const wanted = request.cxl.length > 0 ? CXL_MODULES : [];
    const { modules, missing } = await resolveModules(kernel.modulesDir, wanted);
    const archive = path.join(work, 'initrd.cpio');
    const image = await Initramfs.create(archive);
    await image.hostFile(busybox, '/usr/bin/busybox');
    await image.file('/init', GUEST_INIT, 0o755);
    await image.file('/usr/bin/memregion-collect', COLLECT_SCRIPT, 0o755);
    for (const m of [...early.modules, ...modules]) await image.file(`/lib/modules/lab/${m.name}.ko`, m.data);
    if (kernel.config) await image.hostFile(kernel.config, `/boot/config-${kernel.release}`);
    await image.file(`/lib/modules/${kernel.release}/.lab`, '');
    if (request.arch === 'x86_64') {
      await addMemregion(image, process.execPath);
      const cxlCli = await findOnPath('cxl');
      if (cxlCli) await image.hostProgram(cxlCli, '/usr/bin/cxl');
    }
    await image.file(
      '/lab/env',
      [
        `LAB_CXL_COUNT=${request.cxl.length}`,
        `LAB_EARLY_MODULES=${shellQuote(early.modules.map((m) => m.name).join(' '))}`,
        `LAB_MODULES=${shellQuote(modules.map((m) => m.name).join(' '))}`,
        '',
      ].join('\n'),
    );
    await image.file('/lab/command', `${request.command.map(shellQuote).join(' ')}\n`);
    await image.close();
    const initrd = await compressInitramfs(archive);
    await rm(archive, { force: true });
    for (const [i, device] of request.cxl.entries()) {
      if (device.kind === 'pmem') {
        await writeFile(path.join(work, `cxl${i}.pmem`), '');
        await writeFile(path.join(work, `cxl${i}.pmem.lsa`), '');
      }
    }
    const prepared = Date.now();

    const args = qemuArgs({
      arch: request.arch,
      cpu: request.cpu,
      kernel: kernel.image,
      initrd,
      append: request.append,
      cxl: request.cxl,
      memoryMiB: request.memoryMiB,
      work,
      ports,
    });
    await writeFile(path.join(work, 'qemu.args'), `${[qemu.binary, ...args].map(shellQuote).join(' ')}\n`);
    request.onProgress?.(`booting Linux ${kernel.release} in ${qemu.binary} ${qemu.version} (TCG)`);
    const { status, readyAt, exitedAt } = await boot(qemu.binary, args, work, request);
    const finished = Date.now();
    if (status.exitCode === undefined) {
      keep = true;
      throw new MemregionError(
        `the VM stopped before the command finished (console log kept in ${work}/console.log)`,
        ExitCode.SOFTWARE,
      );
    }
    if (request.outDir) await extractFiles(path.join(work, 'files.out'), request.outDir);
    const serialToMemdev = new Map(status.memdevs.map((m) => [m.serial, m.name]));
    return {
      arch: request.arch,
      cpu: request.cpu,
      accel: 'tcg',
      kernel: {
        release: kernel.release,
        source: kernel.source.kind === 'debian' ? `debian ${kernel.source.suite}` : 'files',
        packages: kernel.source.kind === 'debian' ? kernel.source.packages : null,
        image: kernel.image,
      },
      qemu: { binary: qemu.binary, version: qemu.version },
      topology: {
        cxl: request.cxl.map((d) => ({
          kind: d.kind,
          size: d.size.toString(),
          serial: d.serial,
          memdev: serialToMemdev.get(d.serial) ?? null,
        })),
      },
      modules: { loaded: modules.map((m) => m.name), missing, failed: status.failedModules },
      command: { argv: request.command, exit_code: status.exitCode },
      duration_ms: {
        prepare: prepared - started,
        boot: readyAt - prepared,
        command: exitedAt - readyAt,
        total: finished - started,
      },
      kept: keep ? work : null,
    };
  } finally {
    if (!keep) await rm(work, { recursive: true, force: true });
    else request.onProgress?.(`kept the VM's files in ${work}`);
  }
}

async function findOnPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const file = path.join(dir, name);
    if (
      await stat(file).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return file;
  }
  return null;
}

/** Runs QEMU, follows its ports, and stops it on a boot timeout, an abort, or when it does not power off. */
async function boot(
  binary: string,
  args: string[],
  work: string,
  request: LabRequest,
): Promise<{ status: GuestStatus; readyAt: number; exitedAt: number }> {
  const { execa } = await import('execa');
  // Through util-linux's setpriv --pdeathsig when there is one: the VM then ends with the lab even when the
  // lab is killed outright (SIGKILL, a CI timeout), instead of running on unwatched.
  const setpriv = await findOnPath('setpriv');
  const [file, argv] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', binary, ...args]] : [binary, args];
  const child = execa(file, argv, {
    reject: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    cancelSignal: request.signal,
  });
  let statusText = '';
  const followers = [
    new FileFollower(path.join(work, 'status.out'), (c) => {
      statusText += c.toString('utf8');
    }),
    new FileFollower(path.join(work, 'stdout.out'), request.onStdout),
    new FileFollower(path.join(work, 'stderr.out'), request.onStderr),
  ];
  const bootStart = Date.now();
  let readyAt = 0;
  let exitedAt = 0;
  let timedOut = false;
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  while (!exited) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const f of followers) await f.poll();
    const status = parseStatus(statusText);
    if (status.readyAt !== undefined && readyAt === 0) {
      readyAt = Date.now();
      request.onProgress?.(
        `booted in ${((readyAt - bootStart) / 1000).toFixed(1)} s; running ${describeCommand(request.command)}`,
      );
    }
    if (status.exitCode !== undefined && exitedAt === 0) exitedAt = Date.now();
    if (readyAt === 0 && Date.now() - bootStart > request.bootTimeoutMs) {
      timedOut = true;
      child.kill('SIGKILL');
    }
    // poweroff -f follows the exit line at once; a guest that does not stop is stopped.
    if (exitedAt !== 0 && Date.now() - exitedAt > 30_000) child.kill('SIGKILL');
  }
  const result = await child;
  for (const f of followers) await f.poll();
  if (request.signal?.aborted)
    throw new MemregionError('interrupted; the VM was stopped', ExitCode.INTERRUPTED);
  if (timedOut) {
    throw new MemregionError(
      `the VM did not boot within ${request.bootTimeoutMs / 1000} s (console: ${await tail(path.join(work, 'console.log'))})`,
      ExitCode.TEMP_FAIL,
    );
  }
  const status = parseStatus(statusText);
  if (status.exitCode === undefined && result.exitCode !== 0) {
    const why = String(result.stderr).trim().split('\n').pop() ?? `exit ${result.exitCode}`;
    throw unavailableError(`${binary} failed: ${why}`);
  }
  if (exitedAt === 0) exitedAt = Date.now();
  if (readyAt === 0) readyAt = exitedAt;
  return { status, readyAt, exitedAt };
}

async function tail(file: string): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return (
      text
        .trim()
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .pop() ?? 'empty'
    );
  } catch {
    return 'none';
  }
}

async function extractFiles(tarFile: string, outDir: string): Promise<void> {
  await makeDirs(outDir, '--out folder');
  const size = await stat(tarFile).then(
    (s) => s.size,
    () => 0,
  );
  if (size === 0) return;
  const { execa } = await import('execa');
  const result = await execa('tar', ['-xf', tarFile, '-C', outDir], { reject: false, stdin: 'ignore' });
  if (result.failed)
    throw new MemregionError(
      `cannot unpack the guest's files into ${outDir}: ${String(result.stderr).trim()}`,
      ExitCode.IO_ERR,
    );
}

/** The command in one short line, for progress. */
export function describeCommand(argv: string[]): string {
  const line = argv.join(' ').split('\n')[0]!;
  return line.length > 60 || argv.join(' ').includes('\n') ? `${line.slice(0, 57)}...` : line;
}
