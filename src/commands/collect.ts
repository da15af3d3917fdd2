import { Command } from '@commander-js/extra-typings';
import { type Context, requireFormat } from '../cli/context.js';
import { ExitCode, usageError } from '../core/errors.js';
import { unlessStopped } from '../core/stop.js';
import { formatBytes } from '../core/units.js';
import type { CommandRunner } from './runner.js';

export function collectCommand(run: CommandRunner) {
  return new Command('collect')
    .description(
      'write every file the sysfs backend reads to a .tar.gz (stdout, or --output FILE.tar.gz), for probe and regions --root on another machine',
    )
    .action(async (_options, command) =>
      run(command, (context) => collect(context, command.parent?.version() ?? 'unknown')),
    );
}

/**
 * `collect`: the archive is the result, so it goes where results go (stdout, or --output with the usual
 * care); a terminal is refused as gzip refuses it. What was collected is said on stderr.
 *
 * A stop signal ends it where it is (128 + the signal, one line): an archive cut short is no result, so
 * nothing that collect itself would create is left behind (a new --output file is not created, an old one
 * is left as it was); what stdout, a device or a FIFO took before the stop stays there, as after any
 * writer a signal ended.
 */
async function collect(context: Context, version: string): Promise<number> {
  requireFormat(context, ['human'], 'collect (the archive is the result; its manifest is inside)');
  if (context.backendName !== 'sysfs')
    throw usageError('collect copies the evidence of the sysfs backend; the emulated backend has none');
  if (context.output === undefined && process.stdout.isTTY)
    throw usageError(
      'refusing to write a compressed archive to a terminal: give --output FILE.tar.gz or redirect stdout',
    );
  const { signal } = context;
  // Validates --root as every sysfs command does (66 when it is not a directory).
  await (await context.createBackend()).close();
  const [{ SysRoot }, { collectEvidence }, { ARCHIVE_TOP, packEvidence }, { OutputInterrupted }] =
    await Promise.all([
      import('../backends/sysfs/fs.js'),
      import('../backends/sysfs/collector.js'),
      import('../backends/sysfs/collect-archive.js'),
      import('../core/output-file.js'),
    ]);
  const stopped = () => new OutputInterrupted('interrupted: no archive written');
  const { entries, manifest } = await collectEvidence(new SysRoot(context.root), version, new Date(), signal);
  if (signal.aborted) throw stopped();
  const archive = await packEvidence(entries, signal);
  if (archive === null || signal.aborted) throw stopped();
  if (context.output !== undefined) {
    const { writeOutput } = await import('../core/output-file.js');
    await writeOutput(context.output, archive, undefined, signal);
  } else {
    await writeToStdout(archive, signal);
  }
  context.log.info(
    `collected ${manifest.files} files (${formatBytes(BigInt(manifest.bytes))}) from ${manifest.root} into ${ARCHIVE_TOP}/, ${manifest.unreadable.length} unreadable (listed in ${ARCHIVE_TOP}/memregion-collect.json); unpack it and run memregion probe --root ${ARCHIVE_TOP}`,
  );
  return ExitCode.OK;
}

/**
 * The archive on stdout, until it is taken or a stop signal comes: a reader that does not read (a full
 * pipe) otherwise kept collect waiting past Ctrl-C until the reader went away.
 */
function writeToStdout(archive: Buffer, signal: AbortSignal): Promise<void> {
  const written = new Promise<void>((resolve, reject) =>
    process.stdout.write(archive, (error) => (error ? reject(error) : resolve())),
  );
  return unlessStopped(written, signal, 'interrupted: the archive on stdout is incomplete');
}
