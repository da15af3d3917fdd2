import { Command, Option } from '@commander-js/extra-typings';
import { eraseRegion } from '../api.js';
import { eraseCount, methodVerb, regionEraseExitCode } from '../backends/region-erase.js';
import { ignoredInvalidationError } from '../backends/region-flow.js';
import type { EraseMethod, ErasePartialReport, EraseReport, RegionEraseReport } from '../backends/types.js';
import { confirmation } from '../cli/confirm.js';
import { type Context, requireFormat } from '../cli/context.js';
import { createSpinner } from '../cli/spinner.js';
import { chalk } from '../cli/style.js';
import { ExitCode, usageError } from '../core/errors.js';
import { emit } from '../core/output.js';
import { parseDuration } from '../core/units.js';
import { withPartialReport } from './partial-report.js';
import type { CommandRunner } from './runner.js';

interface EraseFlags {
  method: EraseMethod;
  timeout: string;
  region?: string;
  recommit?: boolean;
  force?: boolean;
  yes?: boolean;
}

export function eraseCommand(run: CommandRunner) {
  return new Command('erase')
    .description(
      'secure-erase flow for a CXL memdev, or for every memdev of a region (--region): preflight, confirmation, trigger, wait, report',
    )
    .argument('[memdev]', 'the CXL memory device (memN)')
    .option('--region <name>', 'erase every memdev of this CXL region (regionN), decommitting it first')
    .option(
      '--recommit',
      'with --region: commit the region again afterwards (the commit invalidates CPU caches)',
    )
    .addOption(
      new Option('--method <method>', 'how to erase')
        .choices(['sanitize', 'secure-erase'] as const)
        .default('sanitize' as const),
    )
    .option('--timeout <time>', 'give up waiting after this long', '30m')
    .option('--force', 'erase even when no cache invalidation provider was found')
    .option('-y, --yes', 'confirm without a prompt')
    .action(async (memdev, options, command) => run(command, (context) => erase(context, memdev, options)));
}

async function erase(context: Context, memdev: string | undefined, options: EraseFlags): Promise<number> {
  requireFormat(context, ['human', 'json'], 'erase');
  if (options.region !== undefined && memdev !== undefined)
    throw usageError('give either <memdev> or --region <name>, not both');
  if (options.region === undefined && memdev === undefined)
    throw usageError('erase needs <memdev> (for example: erase mem0) or --region <name>');
  if (options.region === undefined && options.recommit) throw usageError('--recommit goes with --region');
  const timeoutMs = parseDuration(options.timeout, '--timeout');
  // A wait of 0 would start the erase and give up on it at once (75 after a destructive write): refused first.
  if (!(timeoutMs > 0)) throw usageError('--timeout must be more than 0');
  if (options.region !== undefined) return eraseWholeRegion(context, options.region, options, timeoutMs);
  const backend = await context.createBackend();
  const spinner = await createSpinner(context);
  try {
    const report = await withPartialReport(context, renderErase, () =>
      backend.erase(memdev!, {
        method: options.method,
        timeoutMs,
        force: options.force === true,
        confirm: confirmation(options.yes === true, context.signal),
        signal: context.signal,
        onProgress: (state, elapsedMs) => {
          spinner?.update(
            `${options.method} ${memdev}: state ${state}, ${(elapsedMs / 1000).toFixed(1)} s (Ctrl-C stops waiting; the operation keeps running)`,
          );
        },
      }),
    );
    spinner?.stop();
    await emit({ json: report, human: () => renderErase(report) }, context);
    if (report.ok) return ExitCode.OK;
    // Written, but the state confirms nothing (unreadable): the one error line every failure has.
    context.log.error(
      `the ${report.method} of ${report.memdev} was started, but its end cannot be confirmed: security/state reads ${report.state}`,
    );
    return ExitCode.IO_ERR;
  } finally {
    spinner?.stop();
    await backend.close();
  }
}

async function eraseWholeRegion(
  context: Context,
  region: string,
  options: EraseFlags,
  timeoutMs: number,
): Promise<number> {
  const backend = await context.createBackend();
  const spinner = await createSpinner(context);
  try {
    const report = await withPartialReport(context, renderRegionErase, () =>
      eraseRegion(backend, {
        region,
        method: options.method,
        recommit: options.recommit === true,
        timeoutMs,
        force: options.force === true,
        confirm: confirmation(options.yes === true, context.signal),
        signal: context.signal,
        onProgress: (states, elapsedMs) => {
          const each = Object.entries(states)
            .map(([memdev, state]) => `${memdev} ${state}`)
            .join(', ');
          spinner?.update(
            `${options.method} ${region}: ${each}, ${(elapsedMs / 1000).toFixed(1)} s (Ctrl-C stops waiting; the operation keeps running)`,
          );
        },
      }),
    );
    spinner?.stop();
    await emit({ json: report, human: () => renderRegionErase(report) }, context);
    const code = regionEraseExitCode(report);
    if (code !== ExitCode.OK) context.log.error(regionEraseFailure(report));
    return code;
  } finally {
    spinner?.stop();
    await backend.close();
  }
}

/** The one error line of a region erase that did not succeed. */
function regionEraseFailure(report: RegionEraseReport): string {
  if (report.invalidation_errno && report.status === 'committed')
    return ignoredInvalidationError(report.region, report.invalidation_errno);
  if (report.failed > 0) {
    const failed = report.memdevs.filter((m) => !m.ok).map((m) => `${m.memdev} (${m.error})`);
    return `${report.method} of ${failed.join(', ')} failed: ${report.region} is left ${report.decommitted ? 'decommitted' : 'uncommitted'}`;
  }
  return `the commit of ${report.region} after the ${report.method} failed (${report.commit?.errno ?? 'unknown'}): ${report.region} reads ${report.status}`;
}

/** A finished erase, or the report so far of one that timed out or was interrupted (no warnings). */
export function renderErase(report: EraseReport | ErasePartialReport): string {
  const mark = report.ok ? chalk.green('✓') : chalk.red('✗');
  const next = `\n  ${report.next_step}`;
  const warnings = ('warnings' in report ? report.warnings : [])
    .map((w) => chalk.yellow(`\nwarning: ${w}`))
    .join('');
  return `${mark} ${report.method} of ${report.memdev} ${report.ok ? 'finished' : 'failed'}: state ${report.state}, ${(report.elapsed_ms / 1000).toFixed(1)} s${next}${warnings}`;
}

/** One line per memdev, ndctl's count ("sanitized 2 memdevs"), the recommit, what to do next. */
export function renderRegionErase(report: RegionEraseReport): string {
  const lines = report.memdevs.map((m) => {
    const device = m.serial ? `${m.memdev} (serial ${m.serial})` : m.memdev;
    const time = `${(m.elapsed_ms / 1000).toFixed(1)} s`;
    return m.ok
      ? `${chalk.green('✓')} ${device}: ${methodVerb(report.method)}, state ${m.state}, ${time}`
      : `${chalk.red('✗')} ${device}: ${report.method} failed (${m.error}), state ${m.state}, ${time}`;
  });
  lines.push(eraseCount(report.method, report.erased, report.failed));
  const commit = report.commit;
  if (commit) {
    lines.push(
      commit.ok
        ? `${chalk.green('✓')} ${report.region} committed again (${commit.plan.join(', ')})`
        : `${chalk.red('✗')} ${report.region} ${report.status === 'committed' ? 'committed again, but' : 'not committed:'} ${commit.invalidation_errno ? `its cache invalidation failed (${commit.invalidation_errno})` : `the commit failed (${commit.errno})`}`,
    );
  }
  lines.push(`  ${report.next_step}`);
  for (const w of report.warnings) lines.push(chalk.yellow(`warning: ${w}`));
  return lines.join('\n');
}
