import { Command } from '@commander-js/extra-typings';
import { checkInvalidateRequest, invalidate as invalidateRange } from '../api.js';
import { ignoredInvalidationError } from '../backends/region-flow.js';
import type { InvalidateReport } from '../backends/types.js';
import { confirmation } from '../cli/confirm.js';
import { type Context, requireFormat } from '../cli/context.js';
import { chalk, table } from '../cli/style.js';
import { ExitCode, exitCodeForErrno, usageError } from '../core/errors.js';
import { emit } from '../core/output.js';
import { unlessStopped } from '../core/stop.js';
import { formatBytes } from '../core/units.js';
import { withPartialReport } from './partial-report.js';
import type { CommandRunner } from './runner.js';

interface InvalidateOptions {
  region?: string;
  dryRun?: boolean;
  cycle?: boolean;
  force?: boolean;
  enable?: boolean;
  yes?: boolean;
}

export function invalidateCommand(run: CommandRunner) {
  return new Command('invalidate')
    .description(
      "invalidate CPU and system caches for a physical range, or a named region through the kernel's own flow",
    )
    .argument('[start]', 'first byte: decimal, 0x hex, or with a unit (4K, 2MiB, 1G)')
    .argument('[size]', 'length in bytes, same syntax')
    .option('--region <name>', 'a CXL region (regionN) instead of a range')
    .option('--dry-run', 'check the arguments and support without invalidating')
    .option('--cycle', 'with --region: decommit and commit a committed region again')
    .option('--force', 'with --region: write even when no provider was found')
    .option('--enable', 'with --region: bind the region after the commit, as cxl enable-region does')
    .option('-y, --yes', 'confirm destructive actions without a prompt')
    .action(async (start, size, options, command) =>
      run(command, (context) => invalidate(context, start, size, options)),
    );
}

async function invalidate(
  context: Context,
  startText: string | undefined,
  sizeText: string | undefined,
  options: InvalidateOptions,
) {
  requireFormat(context, ['human', 'json'], 'invalidate');
  const regionMode = options.region !== undefined;
  if (regionMode && (startText !== undefined || sizeText !== undefined)) {
    throw usageError('give either <start> <size> or --region <name>, not both');
  }
  if (!regionMode && (startText === undefined || sizeText === undefined)) {
    throw usageError(
      'invalidate needs <start> <size> (for example: invalidate 0x80000000 2M) or --region <name>',
    );
  }
  if (!regionMode && (options.cycle || options.force || options.enable))
    throw usageError('--cycle, --force and --enable go with --region');
  // The API checks the range; asked before the backend is made, so a bad range is the first answer.
  const range = regionMode
    ? undefined
    : checkInvalidateRequest({ start: startText!, size: sizeText!, dryRun: options.dryRun });
  const backend = await context.createBackend();
  try {
    const report = range
      ? await unlessStopped(
          invalidateRange(backend, range),
          context.signal,
          'interrupted: the invalidation had not finished (its result is unknown)',
        )
      : await withPartialReport(context, renderInvalidate, () =>
          backend.invalidateRegion(options.region!, {
            dryRun: options.dryRun === true,
            cycle: options.cycle === true,
            force: options.force === true,
            enable: options.enable === true,
            confirm: confirmation(options.yes === true, context.signal),
            signal: context.signal,
          }),
        );
    await emit({ json: report, human: () => renderInvalidate(report) }, context);
    const code = exitCodeForErrno(report.errno);
    const ignored =
      'invalidation_errno' in report && report.status === 'committed' ? report.invalidation_errno : null;
    if (code !== ExitCode.OK && ignored && 'region' in report) {
      // The kernel committed the region although its cache invalidation failed: the user's intent failed.
      context.log.error(ignoredInvalidationError(report.region, ignored));
    } else if (code !== ExitCode.OK) {
      context.log.error(
        `invalidation failed: ${report.errno}${report.attempts > 1 ? ` after ${report.attempts} attempts` : ''}`,
      );
    }
    return code;
  } finally {
    await backend.close();
  }
}

export function renderInvalidate(report: InvalidateReport): string {
  const region = 'region' in report ? report : null;
  const target = region
    ? `${region.region} (${report.start}, ${formatBytes(BigInt(report.size))})`
    : `${report.start} + ${formatBytes(BigInt(report.size))}`;
  const what = report.dry_run ? 'dry run' : 'invalidated';
  const head = report.ok
    ? `${chalk.green('✓')} ${what} ${target}`
    : `${chalk.red('✗')} ${report.dry_run ? 'dry run failed for' : 'failed to invalidate'} ${target}: ${chalk.red(String(report.errno))}`;
  const rows: string[][] = [];
  if (region) rows.push([report.dry_run ? 'would write' : 'wrote', region.plan.join(', ')]);
  const calls = region?.kernel_calls;
  if (calls) {
    rows.push([
      'kernel calls',
      calls.count === null
        ? chalk.dim(`not observed (${calls.reason ?? 'no tracing'})`)
        : `${calls.count} invalidation(s), ${calls.errors ?? 0} failed`,
    ]);
  }
  rows.push([
    'attempts',
    `${report.attempts} (${report.retries} ${report.retries === 1 ? 'retry' : 'retries'})`,
  ]);
  if (typeof region?.status === 'string') rows.push(['status', region.status]);
  if ('coalesced' in report && report.coalesced)
    rows.push(['coalesced', "served by another request's firmware call"]);
  rows.push(['time', `${report.elapsed_us} µs`]);
  const warnings = (region?.warnings ?? []).map((w) => chalk.yellow(`\nwarning: ${w}`)).join('');
  return `${head}\n${table(rows)}${warnings}`;
}
