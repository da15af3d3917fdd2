import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { type Context, requireFormat } from '../cli/context.js';
import { createSpinner } from '../cli/spinner.js';
import { chalk, table } from '../cli/style.js';
import { ExitCode, usageError } from '../core/errors.js';
import { makeDirs, makeTempDir, removeMadeDirs } from '../core/make-dirs.js';
import { emit } from '../core/output.js';
import { parseCount, parseDuration } from '../core/units.js';
import { LAB_ARCHES, LAB_CPUS, type LabArch, type LabCpu, parseCxlSpec } from '../lab/options.js';
import type { LabSummary } from '../lab/run.js';
import type { CommandRunner } from './runner.js';

interface LabFlags {
  arch: string;
  cpu: string;
  kernel?: string;
  modules?: string;
  cxl?: string;
  append?: string;
  keep?: boolean;
  out?: string;
  bootTimeout: string;
  memory: string;
}

export function labCommand(run: CommandRunner) {
  return new Command('lab')
    .description(
      'boot a throwaway VM with a real kernel and emulated CXL devices, run a command inside with memregion on PATH',
    )
    .argument('<command...>', 'the command to run in the VM (after --)')
    .addOption(new Option('--arch <arch>', 'guest architecture').choices(LAB_ARCHES).default('x86_64'))
    .addOption(
      new Option('--cpu <cpu>', 'guest: the CPU says it is virtual; bare-metal: it does not')
        .choices(LAB_CPUS)
        .default('guest'),
    )
    .option('--kernel <file>', "kernel image to boot (default: Debian's newest kernel packages)")
    .option('--modules <dir>', 'its modules folder, lib/modules/<release>')
    .option(
      '--cxl <devices>',
      'CXL type-3 devices: ram:SIZE and pmem:SIZE, comma-separated, or none (x86_64; default ram:256M,pmem:256M)',
    )
    .option('--append <args>', 'more kernel command-line arguments')
    .option('--keep', 'keep the VM files (console log, QEMU command line) and say where')
    .option('--out <dir>', 'copy what the command leaves in $LAB_OUT (/out) in the guest into this folder')
    .option('--boot-timeout <time>', 'give up when the VM has not booted by then (exit 75)', '300s')
    .option('--memory <MiB>', 'guest memory in MiB', '2048')
    .action(async (commandArgs, flags, command) =>
      run(command, (context) => lab(context, commandArgs, flags)),
    );
}

async function lab(context: Context, commandArgs: string[], flags: LabFlags): Promise<number> {
  requireFormat(context, ['human', 'json'], 'lab');
  const arch = flags.arch as LabArch;
  const cpu = flags.cpu as LabCpu;
  if (arch !== 'x86_64' && flags.cxl !== undefined && flags.cxl !== 'none') {
    throw usageError(
      '--cxl: the lab emulates CXL devices on x86_64 only (QEMU virt has no CXL host bridge here)',
    );
  }
  const cxl = parseCxlSpec(flags.cxl ?? (arch === 'x86_64' ? 'ram:256M,pmem:256M' : 'none'));
  const bootTimeoutMs = parseDuration(flags.bootTimeout, '--boot-timeout');
  const memoryMiB = parseCount(flags.memory, '--memory', { max: 16384 });
  if (memoryMiB < 512) throw usageError('--memory must be at least 512 (MiB)');
  // No arm64 node runs on an x86 host: an arm64 guest collects the evidence with busybox, and memregion judges
  // it here with --root, the same code reading the same files.
  const judgeOnHost = arch === 'arm64' && commandArgs[0] === 'memregion';
  // Made before the VM boots: a folder that cannot be made is the first answer, not one after the run. A
  // lab that then refuses (no QEMU, no kernel, a boot timeout, Ctrl-C) takes back the folders it made.
  const madeOut = flags.out !== undefined && !judgeOnHost ? await makeDirs(flags.out, '--out folder') : [];
  try {
    return await runAndReport(context, commandArgs, flags, {
      arch,
      cpu,
      cxl,
      bootTimeoutMs,
      memoryMiB,
      judgeOnHost,
    });
  } catch (error) {
    await removeMadeDirs(madeOut);
    throw error;
  }
}

interface LabPlan {
  arch: LabArch;
  cpu: LabCpu;
  cxl: ReturnType<typeof parseCxlSpec>;
  bootTimeoutMs: number;
  memoryMiB: number;
  judgeOnHost: boolean;
}

async function runAndReport(
  context: Context,
  commandArgs: string[],
  flags: LabFlags,
  { arch, cpu, cxl, bootTimeoutMs, memoryMiB, judgeOnHost }: LabPlan,
): Promise<number> {
  const hostFiles = judgeOnHost ? await makeTempDir('memregion-lab-evidence-') : undefined;
  const spinner = await createSpinner(context);
  const progress = (text: string) => (spinner ? spinner.update(text) : context.log.info(text));
  let started = false;
  const startOutput = () => {
    if (!started) spinner?.stop();
    started = true;
  };
  const captured: Buffer[] = [];
  try {
    const { runLab } = await import('../lab/run.js');
    const summary = await runLab({
      arch,
      cpu,
      kernel: flags.kernel,
      modules: flags.modules,
      cxl,
      append: flags.append ? flags.append.split(/\s+/).filter(Boolean) : [],
      keep: flags.keep === true,
      outDir: hostFiles ?? flags.out,
      bootTimeoutMs,
      memoryMiB,
      command: judgeOnHost ? ['memregion-collect', '/out/root'] : commandArgs,
      onProgress: progress,
      onStdout: (chunk) => {
        startOutput();
        if (context.format === 'json') captured.push(chunk);
        else process.stdout.write(chunk);
      },
      onStderr: (chunk) => {
        startOutput();
        process.stderr.write(chunk);
      },
      signal: context.signal,
    });
    spinner?.stop();
    if (judgeOnHost && summary.command.exit_code === 0) {
      context.log.info(
        'arm64: no arm64 node here; evidence collected in the guest, judged on this host with --root',
      );
      summary.command.exit_code = await judge(hostFiles!, commandArgs.slice(1), context, captured);
    }
    if (context.format === 'json') {
      summary.command.stdout = Buffer.concat(captured).toString('utf8');
      await emit({ json: summary, human: () => '' }, context);
    } else if (!context.quiet) {
      process.stderr.write(`${renderLabSummary(summary)}\n`);
    }
    return summary.command.exit_code;
  } finally {
    spinner?.stop();
    if (hostFiles) await rm(hostFiles, { recursive: true, force: true });
  }
}

/** memregion on the host over the guest's evidence tree. */
async function judge(files: string, args: string[], context: Context, captured: Buffer[]): Promise<number> {
  const { execa } = await import('execa');
  const { packageRoot } = await import('../lab/payload.js');
  const bin = path.join(await packageRoot(), 'bin', 'memregion');
  const json = context.format === 'json';
  const result = await execa(process.execPath, [bin, '--root', path.join(files, 'root'), ...args], {
    reject: false,
    stdin: 'ignore',
    stdout: json ? 'pipe' : 'inherit',
    stderr: 'inherit',
    encoding: 'buffer',
    timeout: 120_000,
  });
  if (json) captured.push(Buffer.from(result.stdout as Uint8Array));
  return result.exitCode ?? ExitCode.SOFTWARE;
}

export function renderLabSummary(s: LabSummary): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const rows = [
    [
      'kernel',
      `Linux ${s.kernel.release} (${s.kernel.source}${s.kernel.packages ? `: ${s.kernel.packages[0]}` : ''})`,
    ],
    ['qemu', `${s.qemu.binary} ${s.qemu.version}, ${s.accel}, ${s.arch} ${s.cpu}`],
    [
      'cxl',
      s.topology.cxl.length === 0
        ? 'none'
        : s.topology.cxl.map((d) => `${d.memdev ?? '?'} ${d.kind} serial ${d.serial}`).join(', '),
    ],
    [
      'time',
      `prepare ${seconds(s.duration_ms.prepare)}, boot ${seconds(s.duration_ms.boot)}, command ${seconds(s.duration_ms.command)}`,
    ],
    ['exit', String(s.command.exit_code)],
  ];
  if (s.kept) rows.push(['kept', s.kept]);
  return `${chalk.dim('lab')}\n${chalk.dim(table(rows))}`;
}
