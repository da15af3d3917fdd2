import { Command, Option } from '@commander-js/extra-typings';
import { stress as stressApi } from '../api.js';
import { confirmation } from '../cli/confirm.js';
import type { Context } from '../cli/context.js';
import { createSpinner } from '../cli/spinner.js';
import { chalk, table } from '../cli/style.js';
import { ExitCode, usageError } from '../core/errors.js';
import { emit, toJson } from '../core/output.js';
import { quote } from '../core/quote.js';
import { interruptedExitCode } from '../core/stop.js';
import { formatBytes, MIN_INTERVAL_MS, parseCount, parseDuration, parseU64 } from '../core/units.js';
import { PATTERNS, type Pattern, validateRangeSpec } from '../stress/ranges.js';
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
  const workers = parseCount(flags.workers, '--workers', { max: 100_000 });
  let ops = flags.ops === undefined ? null : parseCount(flags.ops, '--ops');
  let durationMs = flags.duration === undefined ? null : parseDuration(flags.duration, '--duration');
  if (ops === null && durationMs === null) durationMs = 5000;
  if (durationMs !== null && durationMs <= 0) throw usageError('--duration must be more than 0');
  const intervalMs = flags.interval === undefined ? undefined : parseDuration(flags.interval, '--interval');
  if (intervalMs !== undefined && (intervalMs <= 0 || context.format !== 'json')) {
    throw usageError('--interval needs --json and a duration above 0');
  }
  if (intervalMs !== undefined && intervalMs < MIN_INTERVAL_MS)
    throw usageError(`--interval ${quote(flags.interval!)} is below the floor of 1us`);
  if (context.output && intervalMs !== undefined)
    throw usageError('--interval prints to stdout; it does not go with --output');
  const virtualTime = flags.virtualTime === true;
  if (virtualTime && context.backendName !== 'emulated')
    throw usageError('--virtual-time needs --backend emulated');
  const range = {
    pattern: flags.pattern as Pattern,
    base: parseU64(flags.base, '--base'),
    size: parseU64(flags.size, '--size'),
    span: parseU64(flags.span, '--span'),
  };
  validateRangeSpec(range);
  if (flags.region !== undefined) {
    // One request is one decommit+commit cycle: --ops counts them as --cycles does. A deadline could end
    // the run between a cycle's two writes and leave the region decommitted, so there is none.
    if (flags.cycles !== undefined && flags.ops !== undefined)
      throw usageError('--cycles and --ops both count the cycles of --region: give one');
    if (flags.duration !== undefined)
      throw usageError('--region runs a number of cycles (--cycles or --ops), not a --duration');
    ops = parseCount(flags.cycles ?? flags.ops ?? '10', flags.ops !== undefined ? '--ops' : '--cycles');
    durationMs = null;
  }

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
        workers: flags.region !== undefined ? 1 : workers,
        ops,
        durationMs,
        pattern: range.pattern,
        base: range.base,
        size: range.size,
        span: range.span,
        verify: flags.verify === true,
        seed: context.seed,
        region: flags.region,
        confirm: confirmation(flags.yes === true, context.signal),
        signal: context.signal,
        intervalMs,
        onInterval:
          intervalMs !== undefined ? (snapshot) => writeLine({ type: 'interval', ...snapshot }) : undefined,
        onProgress: spinner ? (snapshot) => spinner.update(progressText(snapshot)) : undefined,
      });
    } finally {
      spinner?.stop();
    }
    if (intervalMs !== undefined) writeLine({ type: 'report', ...report });
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
