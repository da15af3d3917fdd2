import { Command, Option } from '@commander-js/extra-typings';
import type { EraseMethod, EraseReport } from '../backends/types.js';
import { confirmation } from '../cli/confirm.js';
import { type Context, requireFormat } from '../cli/context.js';
import { createSpinner } from '../cli/spinner.js';
import { chalk } from '../cli/style.js';
import { ExitCode, MemregionError } from '../core/errors.js';
import { emit } from '../core/output.js';
import { parseDuration } from '../core/units.js';
import type { CommandRunner } from './runner.js';

export function eraseCommand(run: CommandRunner) {
  return new Command('erase')
    .description('secure-erase flow for a CXL memdev: preflight, confirmation, trigger, wait, report')
    .argument('<memdev>', 'the CXL memory device (memN)')
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

async function erase(
  context: Context,
  memdev: string,
  options: { method: EraseMethod; timeout: string; force?: boolean; yes?: boolean },
): Promise<number> {
  requireFormat(context, ['human', 'json'], 'erase');
  const timeoutMs = parseDuration(options.timeout, '--timeout');
  const backend = await context.createBackend();
  const spinner = await createSpinner(context);
  try {
    const report = await eraseReportingPartial(context, () =>
      backend.erase(memdev, {
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
    await emit({ json: report, human: () => renderErase(report) }, context.format, context.output);
    return report.ok ? ExitCode.OK : ExitCode.IO_ERR;
  } finally {
    spinner?.stop();
    await backend.close();
  }
}

/**
 * An erase that timed out or was interrupted still prints its JSON report (`ok: false`, what happened)
 * before the error line, as stress does; an input error (before anything was written) prints nothing.
 */
async function eraseReportingPartial(
  context: Context,
  run: () => Promise<EraseReport>,
): Promise<EraseReport> {
  try {
    return await run();
  } catch (error) {
    // On a terminal the error line says it all; a script reading --json gets its document.
    if (error instanceof MemregionError && error.partial && context.format === 'json') {
      const partial = error.partial as EraseReport;
      await emit({ json: partial, human: () => renderErase(partial) }, context.format, context.output);
    }
    throw error;
  }
}

export function renderErase(report: EraseReport): string {
  const mark = report.ok ? chalk.green('✓') : chalk.red('✗');
  const next = typeof report.next_step === 'string' ? `\n  ${report.next_step}` : '';
  const warnings = Array.isArray(report.warnings)
    ? (report.warnings as string[]).map((w) => chalk.yellow(`\nwarning: ${w}`)).join('')
    : '';
  return `${mark} ${report.method} of ${report.memdev} ${report.ok ? 'finished' : 'failed'}: state ${report.state}, ${(report.elapsed_ms / 1000).toFixed(1)} s${next}${warnings}`;
}
