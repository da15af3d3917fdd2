import { Command } from '@commander-js/extra-typings';
import type { ProbeReport } from '../backends/types.js';
import type { Context } from '../cli/context.js';
import { chalk, table, yesNo } from '../cli/style.js';
import { ExitCode } from '../core/errors.js';
import { emit } from '../core/output.js';
import { escapeControl, inline } from '../core/quote.js';
import { unlessStopped } from '../core/stop.js';
import { formatBytes } from '../core/units.js';
import type { CommandRunner } from './runner.js';

export function probeCommand(run: CommandRunner) {
  return new Command('probe')
    .description('does this machine (or emulated firmware) support memregion invalidation, and why not')
    .action(async (_options, command) => run(command, (context) => probe(context)));
}

export function probeExitCode(report: ProbeReport): number {
  if (report.supported) return ExitCode.OK;
  if (report.backend === 'sysfs' && report.verdict === 'unknown' && report.needs_privileges)
    return ExitCode.NO_PERM;
  return ExitCode.UNAVAILABLE;
}

async function probe(context: Context): Promise<number> {
  const backend = await context.createBackend();
  try {
    // As regions: the sysfs evidence of a large --root tree takes a while, and a stop signal ends it.
    const report = await unlessStopped(backend.probe(), context.signal, 'interrupted: nothing probed');
    await emit(
      {
        json: report,
        human: () => renderProbe(report),
        prometheus: async () => (await import('../render/prometheus.js')).probePrometheus(report),
      },
      context,
    );
    return probeExitCode(report);
  } finally {
    await backend.close();
  }
}

export function renderProbe(report: ProbeReport): string {
  const where = report.profile ? `${report.backend}, profile ${inline(report.profile)}` : report.backend;
  const verdict =
    report.verdict === 'supported'
      ? chalk.green.bold('supported')
      : report.verdict === 'unknown'
        ? chalk.yellow.bold('unknown')
        : chalk.red.bold('not supported');
  const lines = [`memregion invalidation: ${verdict} ${chalk.dim(`(${where})`)}`];
  const smccc = report.smccc.version
    ? `v${report.smccc.version}${report.smccc.conduit ? ` via ${report.smccc.conduit.toUpperCase()}` : ''}`
    : report.smccc.conduit === 'none'
      ? 'no conduit'
      : chalk.dim('unknown');
  const rows: string[][] = [['SMCCC', smccc]];
  if (report.functions.clean_inv_memregion !== null || report.functions.attributes !== null) {
    rows.push([
      'functions',
      `CLEAN_INV_MEMREGION ${yesNo(report.functions.clean_inv_memregion)}, ATTRIBUTES ${yesNo(report.functions.attributes)}`,
    ]);
  }
  const a = report.attributes;
  if (a) {
    rows.push([
      'attributes',
      `${a.global ? 'global' : 'range'} operation, latency ${a.latency_us} µs, ` +
        `${a.rate_limit ? `${a.rate_limit} calls/s` : 'no rate limit'}, break-even ${formatBytes(BigInt(a.breakeven_bytes))}`,
    ]);
  }
  const provider = report.provider;
  const registered =
    provider.registered === null
      ? chalk.dim('unknown')
      : provider.registered
        ? chalk.green('registered')
        : chalk.red('not registered');
  rows.push([
    'provider',
    `${provider.name ? `${provider.name} ` : ''}${registered}${provider.variant ? ` (variant ${provider.variant})` : ''}`,
  ]);
  lines.push(table(rows));
  if (report.reasons.length > 0) {
    lines.push('', chalk.bold('why:'));
    for (const reason of report.reasons) lines.push(`  - ${escapeControl(reason)}`);
  }
  if (report.backend !== 'sysfs') return lines.join('\n');
  for (const warning of report.warnings) lines.push(chalk.yellow(`warning: ${escapeControl(warning)}`));
  if (report.evidence.length > 0) {
    lines.push('', chalk.bold('evidence:'));
    // Details quote what the files said: a --root tree from elsewhere may hold escape sequences.
    lines.push(
      table(
        report.evidence.map((e) => [
          e.found ? chalk.green('✓') : chalk.dim('·'),
          escapeControl(e.source),
          escapeControl(e.detail),
        ]),
      ),
    );
  }
  return lines.join('\n');
}
