import { constants } from 'node:os';
import { Command } from '@commander-js/extra-typings';
import type { TraceEvent, TraceReport } from '../backends/types.js';
import { type Context, requireFormat } from '../cli/context.js';
import { chalk, table } from '../cli/style.js';
import { ExitCode, usageError } from '../core/errors.js';
import { LatencyRecorder } from '../core/latency.js';
import { emit } from '../core/output.js';
import { interruptedExitCode } from '../core/stop.js';
import { parseDuration } from '../core/units.js';
import { renderLatencyHistogram } from '../render/histogram.js';
import type { CommandRunner } from './runner.js';

/** What the live event lines may have waiting for stdout before further ones are not shown. */
const LIVE_BACKLOG_BYTES = 1024 * 1024;

export function traceCommand(run: CommandRunner) {
  return new Command('trace')
    .description(
      'observe invalidations while it runs: for --duration, or exactly the lifetime of -- <command...>',
    )
    .argument('[command...]', 'a command to run and trace (after --)')
    .option('-d, --duration <time>', 'trace this long (10s, 1m); default until Ctrl-C')
    .action(async (commandArgs, options, command) =>
      run(command, (context) => trace(context, commandArgs, options)),
    );
}

async function trace(
  context: Context,
  commandArgs: string[],
  options: { duration?: string },
): Promise<number> {
  requireFormat(context, ['human', 'json'], 'trace');
  const durationMs =
    options.duration === undefined ? undefined : parseDuration(options.duration, '--duration');
  if (durationMs !== undefined && durationMs <= 0) throw usageError('--duration must be more than 0');
  if (durationMs !== undefined && commandArgs.length > 0)
    throw usageError('give either --duration or -- <command>, not both');
  const backend = await context.createBackend();
  const live = context.format === 'human' && !context.output;
  // The histogram is of the latencies the summary's percentiles are of (human output only).
  const latency = context.format === 'human' ? new LatencyRecorder() : null;
  let unshown = 0;
  try {
    const report = await backend.trace({
      durationMs,
      command: commandArgs.length > 0 ? commandArgs : undefined,
      signal: context.signal,
      onEvent:
        live || latency
          ? (event) => {
              if (latency && isInvalidation(event)) latency.recordUs(event.latency_us);
              if (!live) return;
              // Tracing is passive: a terminal or pipe slower than the events gets fewer lines (the
              // summary counts them all), rather than every line queued in memory without end.
              if (process.stdout.writableLength > LIVE_BACKLOG_BYTES) unshown += 1;
              else process.stdout.write(`${formatEvent(event)}\n`);
            }
          : undefined,
      commandStdout: context.format === 'human' && !context.output ? 'inherit' : 'stderr',
    });
    if (unshown > 0)
      context.log.warn(`${unshown} trace events not shown: stdout did not keep up (the summary counts them)`);
    await emit(
      {
        json: report,
        human: () => {
          const summary = renderTraceSummary(report);
          const histogram = latency ? renderLatencyHistogram(latency.distribution(), 'invalidation') : '';
          return histogram ? `${summary}\n\n${histogram}` : summary;
        },
      },
      context,
    );
    // A signal that stopped the trace decides the exit code (128 + its number), not the traced command
    // that the trace then stopped.
    const signal = (report as { signal?: string }).signal;
    if (report.interrupted === true && signal && signal in constants.signals)
      return 128 + constants.signals[signal as NodeJS.Signals];
    if (report.command_exit_code !== undefined && report.command_exit_code !== null)
      return report.command_exit_code;
    // The sysfs session handles SIGTERM/SIGHUP itself (to remove its probes): its report says so.
    return context.signal.aborted || report.interrupted === true
      ? interruptedExitCode(context.signal)
      : ExitCode.OK;
  } finally {
    await backend.close();
  }
}

/**
 * An invalidation that completed with a latency: the emulated provider's `complete` events and the
 * sysfs backend's `invalidate` events (cpu_cache_invalidate_memregion entry to return), as counted in
 * the summary's percentiles.
 */
export function isInvalidation(event: TraceEvent): event is TraceEvent & { latency_us: number } {
  return (event.kind === 'complete' || event.kind === 'invalidate') && typeof event.latency_us === 'number';
}

export function formatEvent(event: TraceEvent): string {
  const time = `${(event.time_us / 1e6).toFixed(6)}`.padStart(12);
  const { time_us: _t, kind, ...rest } = event;
  const fields = Object.entries(rest)
    .filter(([k, v]) => k !== 'source_time_us' && v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  const ret = 'ret' in event ? event.ret : undefined;
  const failed = ret !== undefined && ret !== 0 && ret !== null;
  return `${chalk.dim(time)} ${failed ? chalk.red(kind) : chalk.cyan(kind)} ${fields}`;
}

export function renderTraceSummary(report: TraceReport): string {
  const s = report.summary;
  const l = s.latency_us;
  const rows = [
    ['invalidations', String(s.invalidations)],
    ['errors', s.errors ? chalk.red(String(s.errors)) : '0'],
    [
      'latency µs',
      l ? `p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}  mean ${l.mean}` : 'none',
    ],
  ];
  if (report.command_exit_code !== undefined) rows.push(['command exit', String(report.command_exit_code)]);
  return `${chalk.bold('trace summary')}\n${table(rows)}`;
}
