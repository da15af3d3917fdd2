import { Command, Option } from '@commander-js/extra-typings';
import { stress as stressApi } from '../api.js';
import { confirmation } from '../cli/confirm.js';
import type { Context } from '../cli/context.js';
import { createSpinner } from '../cli/spinner.js';
import { chalk, table } from '../cli/style.js';
import { ExitCode, usageError } from '../core/errors.js';
import { emit, toJson } from '../core/output.js';
import { interruptedExitCode } from '../core/stop.js';
import { formatBytes } from '../core/units.js';
import { PATTERNS, type Pattern } from '../stress/ranges.js';
import type { StressReport } from '../stress/report.js';
import type { CommandRunner } from './runner.js';

interface StressFlags {
  workers: string;
  duration?: string;
  ops?: string;
  pattern: string;
  size: string;
  span: string;
  base: string;
  verify?: boolean;
  virtualTime?: boolean;
  failOnError?: boolean;
  interval?: string;
  region?: string;
  cycles?: string;
  yes?: boolean;
}

export function stressCommand(run: CommandRunner) {
  return new Command('stress')
    .description('hammer the invalidation path from many concurrent requesters and report what happened')
    .option('-w, --workers <n>', 'concurrent requesters', '8')
    .option('-d, --duration <time>', 'run this long (10s, 500ms, 2m); default 5s unless --ops is given')
    .option('-n, --ops <n>', 'stop after this many requests')
    .addOption(new Option('--pattern <pattern>', 'how ranges are drawn').choices(PATTERNS).default('random'))
    .option('--size <bytes>', 'size of each range', '4K')
    .option('--span <bytes>', 'ranges are drawn within [base, base+span)', '1G')
    .option('--base <addr>', 'first address of the span', '0x80000000')
    .option('--verify', 'check that every request is served by a firmware call that started after it arrived')
    .option('--virtual-time', 'emulated backend: simulate on a virtual clock as fast as the CPU allows')
    .option('--fail-on-error', 'exit 1 when any request failed')
    .option('--interval <time>', 'with --json: print one JSON line per interval, then the final report line')
    .option('--region <name>', 'sysfs backend: cycle this sacrificial CXL region (decommit+commit) instead')
    .option('--cycles <n>', 'with --region: number of cycles, as --ops (default 10)')
    .option('-y, --yes', 'confirm destructive actions without a prompt')
    .action(async (options, command) => run(command, (context) => stress(context, options)));
}

async function stress(context: Context, flags: StressFlags): Promise<number> {
  // What only the command line has: where the interval lines go. The run's own options are the API's to check.
  if (flags.interval !== undefined && context.format !== 'json')
    throw usageError('--interval needs --json and a duration above 0');
  if (context.output && flags.interval !== undefined)
    throw usageError('--interval prints to stdout; it does not go with --output');
  const virtualTime = flags.virtualTime === true;
  const backend = await context.createBackend({ virtualTime });
  // NDJSON: one line per interval while the run goes on, then the report (a closed stdout ends the
  // process quietly with 74, see main.ts).
  const writeLine = (line: object) => process.stdout.write(`${toJson(line, 0)}\n`);
  try {
    const spinner = await createSpinner(context);
    let report: StressReport;
    try {
      // The run itself is the library's `stress()`: the command only turns flags into its options.
      report = await stressApi(backend, {
        workers: flags.workers,
        ops: flags.ops,
        cycles: flags.region !== undefined ? flags.cycles : undefined,
        durationMs: flags.duration,
        pattern: flags.pattern as Pattern,
        base: flags.base,
        size: flags.size,
        span: flags.span,
        verify: flags.verify === true,
        region: flags.region,
        confirm: confirmation(flags.yes === true, context.signal),
        signal: context.signal,
        intervalMs: flags.interval,
        onInterval:
          flags.interval !== undefined
            ? (snapshot) => writeLine({ type: 'interval', ...snapshot })
            : undefined,
        onProgress: spinner ? (snapshot) => spinner.update(progressText(snapshot)) : undefined,
      });
    } finally {
      spinner?.stop();
    }
    if (flags.interval !== undefined) writeLine({ type: 'report', ...report });
    else {
      await emit(
        {
          json: report,
          human: () => renderStress(report),
          prometheus: async () => (await import('../render/prometheus.js')).stressPrometheus(report),
        },
        context.format,
        context.output,
      );
    }
    return stressExitCode(report, flags.failOnError === true, context);
  } finally {
    await backend.close();
  }
}

function stressExitCode(report: StressReport, failOnError: boolean, context: Context): number {
  if (report.interrupted) return interruptedExitCode(context.signal);
  if (report.verify && report.verify.violations > 0) {
    context.log.error(
      `verify: ${report.verify.violations} request(s) were served by a firmware call that started before they arrived`,
    );
    return ExitCode.FAILURE;
  }
  if (failOnError && report.requests.failed > 0) {
    context.log.error(`${report.requests.failed} request(s) failed (--fail-on-error)`);
    return ExitCode.FAILURE;
  }
  return ExitCode.OK;
}

/** Progress of a run on the spinner: counts, rate and time so far. */
function progressText(s: { completed: number; failed: number; elapsed_us: number }): string {
  const seconds = s.elapsed_us / 1e6;
  const rate = seconds > 0 ? Math.round(s.completed / seconds) : 0;
  return `stress: ${s.completed} completed, ${s.failed} failed, ${rate}/s (${seconds.toFixed(1)} s) — Ctrl-C stops and reports`;
}

export function renderStress(report: StressReport): string {
  const time = report.virtual_time ? chalk.yellow('virtual time: a simulation') : 'real time';
  const who = [
    report.profile ? `profile ${report.profile}` : report.backend,
    report.provider ? `provider ${report.provider}` : '',
    `seed ${report.seed}`,
  ]
    .filter(Boolean)
    .join(', ');
  const head = `stress: ${report.workers} worker${report.workers === 1 ? '' : 's'}, ${report.elapsed_s.toFixed(3)} s (${time}), ${who}${report.interrupted ? chalk.yellow(' — interrupted') : ''}`;
  const l = report.latency_us;
  const statuses = Object.entries(report.firmware.by_status)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  const errors = Object.entries(report.errors)
    .map(([name, n]) => chalk.red(`${name} ${n}`))
    .join(', ');
  const rows: string[][] = [
    report.region
      ? ['target', `${report.region}: one decommit+commit cycle per request`]
      : [
          'ranges',
          `${report.pattern}, ${formatBytes(BigInt(report.size))} within ${formatBytes(BigInt(report.span))} at ${report.base}`,
        ],
    [
      'requests',
      `${report.requests.completed} completed, ${report.requests.failed ? chalk.red(String(report.requests.failed)) : 0} failed`,
    ],
    ['throughput', `${report.throughput_per_s.toFixed(1)} requests/s`],
    [
      'latency µs',
      l
        ? `p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}  mean ${l.mean}`
        : 'no request completed',
    ],
    ['firmware', `${report.firmware.calls ?? 'unknown'} calls${statuses ? `: ${statuses}` : ''}`],
    ['retries', String(report.retries)],
    [
      'coalescing',
      report.coalescing_factor === null
        ? 'no firmware call'
        : `${report.coalescing_factor.toFixed(2)} requests per firmware call (${report.coalesced} coalesced${report.coalescing ? '' : ', not coalescing'})`,
    ],
    ['errors', errors || 'none'],
  ];
  if (report.verify) {
    const v = report.verify;
    rows.push([
      'verify',
      v.violations === 0
        ? chalk.green(`${v.checked} checked, 0 violations`)
        : chalk.red(`${v.checked} checked, ${v.violations} violations`) +
          ` (e.g. request #${v.examples[0]?.arrival_seq} served by call #${v.examples[0]?.served_by_seq}, which started before it arrived)`,
    ]);
  }
  if (report.virtual_time)
    rows.push([
      'simulation',
      `${Math.round(report.simulated_requests_per_cpu_s ?? 0)} requests per CPU second`,
    ]);
  return `${head}\n${table(rows)}`;
}
