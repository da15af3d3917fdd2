import { constants } from 'node:buffer';
import path from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { stress as stressApi } from '../api.js';
import { type CycleTracingReport, PROVIDER_VARIANTS, type StressTargetFields } from '../backends/types.js';
import { confirmation } from '../cli/confirm.js';
import { type Context, refuseProfileAsOutput } from '../cli/context.js';
import { createSpinner } from '../cli/spinner.js';
import { writeStdoutLine } from '../cli/stdout-lines.js';
import { chalk, table } from '../cli/style.js';
import { ExitCode, MemregionError, usageError } from '../core/errors.js';
import { LatencyRecorder } from '../core/latency.js';
import { emit, toJson } from '../core/output.js';
import { inline, quote } from '../core/quote.js';
import { interruptedExitCode } from '../core/stop.js';
import { MAX_TIMER_MS } from '../core/timers.js';
import { formatBytes, MIN_INTERVAL_MS, parseDuration } from '../core/units.js';
import { renderCompare } from '../render/compare.js';
import { HdrIntervalLog } from '../render/hdr-log.js';
import { renderLatencyHistogram } from '../render/histogram.js';
import { buildCompareReport } from '../stress/compare.js';
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
  hdrLog?: string;
  compare?: boolean;
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
    .option(
      '--interval <time>',
      'with --json: print one JSON line per interval, then the final report line; with --hdr-log: one histogram per interval (default 1s)',
    )
    .option(
      '--hdr-log <file>',
      'write the latencies as an HdrHistogram interval log, one histogram per --interval',
    )
    .option(
      '--compare',
      'emulated backend: run the same seeded workload under each provider variant, side by side',
    )
    .option('--region <name>', 'sysfs backend: cycle this sacrificial CXL region (decommit+commit) instead')
    .option('--cycles <n>', 'with --region: number of cycles, as --ops (default 10)')
    .option('-y, --yes', 'confirm destructive actions without a prompt')
    .action(async (options, command) =>
      run(command, (context) =>
        stress(context, options, command.getOptionValueSourceWithGlobals('provider') === 'cli'),
      ),
    );
}

/**
 * What only the command line decides: where the interval lines and the HdrHistogram log go, and what
 * --compare goes with. The run's own options (counts, durations, range, --virtual-time) are the API's to
 * check; the command hands their text over as it came.
 */
interface StressPlan {
  virtualTime: boolean;
  /** The NDJSON lines of `--json --interval`. */
  lines: boolean;
  /** Period of the interval snapshots (lines, --hdr-log), or undefined without either. */
  intervalMs?: number;
  hdrLog?: string;
}

async function plan(context: Context, flags: StressFlags, providerGiven: boolean): Promise<StressPlan> {
  const hdrLog = flags.hdrLog;
  if (hdrLog === '') throw usageError('--hdr-log needs a file name');
  // Parsed here as the API parses it, for the command line's own rules on where snapshots go.
  const intervalMs = flags.interval === undefined ? undefined : parseDuration(flags.interval, '--interval');
  if (intervalMs !== undefined && (intervalMs <= 0 || (context.format !== 'json' && hdrLog === undefined))) {
    throw usageError('--interval needs --json or --hdr-log, and a duration above 0');
  }
  // A real-time run ticks with setInterval, which takes a period above 2^31 - 1 ms (24.8 days) for 1 ms,
  // with a warning: `--interval 600h` printed a line every millisecond.
  if (intervalMs !== undefined && intervalMs > MAX_TIMER_MS)
    throw usageError(
      `--interval ${quote(flags.interval ?? '')} is too long (at most 596h, what a timer can wait)`,
    );
  if (hdrLog !== undefined && intervalMs !== undefined && intervalMs >= MIN_INTERVAL_MS && intervalMs < 1)
    throw usageError('--hdr-log needs an --interval of 1ms or more (the log keeps time to the millisecond)');
  if (flags.compare) checkCompare(context, flags, providerGiven, intervalMs);
  const lines = intervalMs !== undefined && context.format === 'json' && !flags.compare;
  if (context.output && lines) throw usageError('--interval prints to stdout; it does not go with --output');
  if (hdrLog !== undefined) await checkHdrLog(context, hdrLog);
  return {
    virtualTime: flags.virtualTime === true,
    lines,
    intervalMs: lines || hdrLog !== undefined ? (intervalMs ?? DEFAULT_HDR_INTERVAL_MS) : undefined,
    hdrLog,
  };
}

const DEFAULT_HDR_INTERVAL_MS = 1000;

/** What `--compare` does not go with: it runs every provider, on the emulated range workload. */
function checkCompare(
  context: Context,
  flags: StressFlags,
  providerGiven: boolean,
  intervalMs: number | undefined,
): void {
  if (context.backendName !== 'emulated')
    throw usageError('--compare needs --backend emulated (the provider variants are emulated)');
  if (providerGiven)
    throw usageError('--compare runs every provider variant; it does not go with --provider');
  if (flags.region !== undefined)
    throw usageError('--compare runs the range workload; it does not go with --region');
  if (context.format === 'prometheus')
    throw usageError('--compare has no prometheus format (human or --json)');
  if (intervalMs !== undefined && context.format === 'json' && flags.hdrLog === undefined)
    throw usageError('--compare --json prints one document: --interval lines do not go with it');
  if (process.env.MEMREGION_PROVIDER)
    context.log.warn('MEMREGION_PROVIDER is ignored: --compare runs every provider variant');
}

/** The log is written at the end: a target that can never be written is refused before the run. */
async function checkHdrLog(context: Context, file: string): Promise<void> {
  const resolved = path.resolve(file);
  const { checkOutputTarget, sameOutputFile } = await import('../core/output-file.js');
  if (context.output !== undefined && (await sameOutputFile(context.output, file)))
    throw usageError('--hdr-log and --output name the same file');
  await refuseProfileAsOutput({ backend: context.backendName, profile: context.profile }, file, '--hdr-log');
  const toStdout = ['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1'].includes(resolved);
  if (toStdout && context.output === undefined)
    throw usageError('--hdr-log to stdout would mix with the report: give --output for the report');
  await checkOutputTarget(file, HDR_LOG_LABEL);
}

const HDR_LOG_LABEL = '--hdr-log file';

async function stress(context: Context, flags: StressFlags, providerGiven: boolean): Promise<number> {
  const settings = await plan(context, flags, providerGiven);
  const hdr = settings.hdrLog
    ? await HdrIntervalLog.create({
        startedAtMs: Date.now(),
        virtualTime: settings.virtualTime,
        what: flags.compare ? 'stress --compare' : 'stress',
      })
    : undefined;
  if (flags.compare) return compare(context, flags, settings, hdr);
  const backend = await context.createBackend({ virtualTime: settings.virtualTime });
  // NDJSON: one line per interval while the run goes on, then the report (a closed stdout ends the
  // process quietly with 74, see main.ts).
  const writeLine = (line: object) => writeStdoutLine(toJson(line, 0), context.signal);
  const latency = new LatencyRecorder(hdr ? { tap: hdr.record } : {});
  try {
    const spinner = await createSpinner(context);
    let report: StressReport & StressTargetFields;
    try {
      // The run itself is the library's `stress()`: the command only turns flags into its options.
      report = await stressApi(backend, {
        ...runOptions(context, flags, settings),
        region: flags.region,
        latency,
        onInterval:
          settings.intervalMs !== undefined
            ? (snapshot) => {
                hdr?.endInterval(snapshot.elapsed_us);
                return settings.lines ? writeLine({ type: 'interval', ...snapshot }) : undefined;
              }
            : undefined,
        onProgress: spinner ? (snapshot) => spinner.update(progressText(snapshot)) : undefined,
      });
    } finally {
      spinner?.stop();
    }
    if (settings.lines) writeLine({ type: 'report', ...report });
    else {
      await emit(
        {
          json: report,
          human: () => {
            const histogram = renderLatencyHistogram(latency.distribution(), 'request');
            return histogram ? `${renderStress(report)}\n\n${histogram}` : renderStress(report);
          },
          prometheus: async () => (await import('../render/prometheus.js')).stressPrometheus(report),
        },
        context,
      );
    }
    if (hdr) await writeHdrLog(hdr, settings.hdrLog!, context.signal, Math.round(report.elapsed_s * 1e6));
    return stressExitCode([report], flags.failOnError === true, context);
  } finally {
    await backend.close();
  }
}

/** The library options every run of the command shares (one run, or each variant of --compare). */
function runOptions(context: Context, flags: StressFlags, settings: StressPlan) {
  return {
    workers: flags.workers,
    ops: flags.ops,
    cycles: flags.cycles,
    durationMs: flags.duration,
    pattern: flags.pattern as Pattern,
    base: flags.base,
    size: flags.size,
    span: flags.span,
    verify: flags.verify === true || flags.compare === true,
    seed: context.seed,
    confirm: confirmation(flags.yes === true, context.signal),
    signal: context.signal,
    // As typed, when it was given: the API's refusals then quote it as the user wrote it.
    intervalMs: settings.intervalMs === undefined ? undefined : (flags.interval ?? settings.intervalMs),
  };
}

async function writeHdrLog(
  hdr: HdrIntervalLog,
  file: string,
  signal: AbortSignal,
  endUs?: number,
): Promise<void> {
  if (endUs !== undefined) hdr.endInterval(endUs);
  const bytes = hdr.bytes();
  if (bytes === null)
    throw new MemregionError(
      `cannot write the ${HDR_LOG_LABEL} ${quote(file)} (larger than ${formatBytes(BigInt(constants.MAX_LENGTH))}, the largest buffer Node makes: give a longer --interval)`,
      ExitCode.IO_ERR,
    );
  const { writeOutput } = await import('../core/output-file.js');
  await writeOutput(file, bytes, HDR_LOG_LABEL, signal);
}

/**
 * `stress --compare`: the same seeded workload under v2, v1, rfc and batched in turn, each on a backend
 * of its own, every request verified (the violations column). Ctrl-C stops the variant running and
 * prints the rows so far.
 */
async function compare(
  context: Context,
  flags: StressFlags,
  settings: StressPlan,
  hdr: HdrIntervalLog | undefined,
): Promise<number> {
  const reports: StressReport[] = [];
  const spinner = await createSpinner(context);
  try {
    for (const provider of PROVIDER_VARIANTS) {
      if (context.signal.aborted) break;
      const backend = await context.createBackend({ virtualTime: settings.virtualTime, provider });
      try {
        const report = await stressApi(backend, {
          ...runOptions(context, flags, settings),
          latency: hdr ? new LatencyRecorder({ tap: hdr.record }) : undefined,
          onInterval: hdr ? (snapshot) => hdr.endInterval(snapshot.elapsed_us, provider) : undefined,
          onProgress: spinner
            ? (snapshot) => spinner.update(`${provider}: ${progressText(snapshot)}`)
            : undefined,
        });
        reports.push(report);
        hdr?.endInterval(Math.round(report.elapsed_s * 1e6), provider);
        hdr?.restartClock();
      } finally {
        await backend.close();
      }
    }
  } finally {
    spinner?.stop();
  }
  const document = buildCompareReport(reports, context.signal.aborted);
  await emit({ json: document, human: () => renderCompare(document) }, context);
  if (hdr) await writeHdrLog(hdr, settings.hdrLog!, context.signal);
  return stressExitCode(reports, flags.failOnError === true, context, flags.verify === true);
}

/**
 * 130 (or 128 + the signal) after an interruption; 1 when --verify found a violation or, with
 * --fail-on-error, a request failed (in any variant of --compare); else 0. --compare verifies every
 * request for its table, but only an explicit --verify turns a violation into exit 1.
 */
function stressExitCode(
  reports: StressReport[],
  failOnError: boolean,
  context: Context,
  verify = true,
): number {
  if (reports.some((r) => r.interrupted) || context.signal.aborted)
    return interruptedExitCode(context.signal);
  const named = (r: StressReport) => (reports.length > 1 ? `${r.provider}: ` : '');
  let code: number = ExitCode.OK;
  for (const report of reports) {
    if (verify && report.verify && report.verify.violations > 0) {
      context.log.error(
        `${named(report)}verify: ${report.verify.violations} request(s) were served by a firmware call that started before they arrived`,
      );
      code = ExitCode.FAILURE;
    }
    if (failOnError && report.requests.failed > 0) {
      context.log.error(`${named(report)}${report.requests.failed} request(s) failed (--fail-on-error)`);
      code = ExitCode.FAILURE;
    }
  }
  return code;
}

/** Progress of a run on the spinner: counts, rate and time so far. */
function progressText(s: { completed: number; failed: number; elapsed_us: number }): string {
  const seconds = s.elapsed_us / 1e6;
  const rate = seconds > 0 ? Math.round(s.completed / seconds) : 0;
  return `stress: ${s.completed} completed, ${s.failed} failed, ${rate}/s (${seconds.toFixed(1)} s) — Ctrl-C stops and reports`;
}

export function renderStress(report: StressReport & StressTargetFields): string {
  const time = report.virtual_time ? chalk.yellow('virtual time: a simulation') : 'real time';
  const who = [
    report.profile ? `profile ${inline(report.profile)}` : report.backend,
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
  if (report.cycle_tracing) rows.push(['tracing', cycleTracingText(report.cycle_tracing)]);
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

/** How the cycles' invalidations were seen: a cycle nobody traced is not claimed to have invalidated. */
function cycleTracingText(t: CycleTracingReport): string {
  const parts = [`${t.traced} of ${t.traced + t.untraced} cycles traced`];
  if (t.ignored_failures > 0)
    parts.push(
      chalk.red(`${t.ignored_failures} committed although the invalidation failed (counted as failed)`),
    );
  if (t.untraced > 0)
    parts.push(
      chalk.yellow(
        `${t.untraced} untraced (${t.reason ?? 'no reason given'}): their invalidation's outcome is unknown`,
      ),
    );
  return parts.join('; ');
}
