import { Command, Option } from '@commander-js/extra-typings';
import { ExitCode, usageError } from '../core/errors.js';
import { emit, toJson } from '../core/output.js';
import { Random } from '../core/random.js';
import { formatBytes, parseCount, parseDuration, parseU64 } from '../core/units.js';
import { type Pattern, PATTERNS, validateRangeSpec } from '../stress/ranges.js';
import type { Context } from '../cli/context.js';
import { confirmation } from '../cli/confirm.js';
import { chalk, table } from '../cli/style.js';
import { buildStressReport, type StressReport } from '../stress/report.js';
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
    .option('--cycles <n>', 'with --region: number of cycles', '10')
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
  if (context.output && intervalMs !== undefined) throw usageError('--interval prints to stdout; it does not go with --output');
  const virtualTime = flags.virtualTime === true;
  if (virtualTime && context.backendName !== 'emulated') throw usageError('--virtual-time needs --backend emulated');
  const range = {
    pattern: flags.pattern as Pattern,
    base: parseU64(flags.base, '--base'),
    size: parseU64(flags.size, '--size'),
    span: parseU64(flags.span, '--span'),
  };
  validateRangeSpec(range);
  if (flags.region !== undefined) {
    ops = parseCount(flags.cycles ?? '10', '--cycles');
    durationMs = null;
  }
  const workerCount = flags.region !== undefined ? 1 : workers;

  const backend = await context.createBackend({ virtualTime });
  try {
    const target = await backend.stressTarget({
      region: flags.region,
      confirm: confirmation(flags.yes === true, context.signal),
      signal: context.signal,
    });
    if (virtualTime && durationMs !== null && !(await advancesTime(backend))) {
      throw usageError('this firmware answers in zero time, so virtual time never advances: use --ops with --virtual-time');
    }
    const { StressRun } = await import('../stress/engine.js');
    const random = new Random(context.seed ^ 0x5eed);
    const settings = {
      workers: workerCount,
      ops,
      durationMs,
      range,
      verify: flags.verify === true,
      virtualTime,
      seed: context.seed,
      backend: backend.name,
      profile: backend.profileName,
      provider: backend.name === 'emulated' ? context.provider : undefined,
      region: flags.region,
    };
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    const progress = await startProgress(context);
    const stressRun = new StressRun(
      target,
      {
        ...settings,
        signal: context.signal,
        intervalMs,
        onInterval: intervalMs ? (snapshot) => process.stdout.write(`${toJson({ type: 'interval', ...snapshot }, 0)}\n`) : undefined,
      },
      random,
    );
    const timer = progress ? setInterval(() => progress.update(stressRun.snapshot()), 200) : undefined;
    let snapshot;
    try {
      snapshot = await stressRun.run();
    } finally {
      if (timer) clearInterval(timer);
      progress?.stop();
    }
    const cpu = process.cpuUsage(cpuBefore);
    const report = buildStressReport(settings, snapshot, {
      interrupted: context.signal.aborted,
      wallSeconds: (performance.now() - wallBefore) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      coalescing: target.coalescing,
    });
    const { stressPrometheus } = context.format === 'prometheus' ? await import('../render/prometheus.js') : { stressPrometheus: undefined };
    if (intervalMs !== undefined) process.stdout.write(`${toJson({ type: 'report', ...report }, 0)}\n`);
    else {
      await emit(
        {
          json: report,
          human: () => renderStress(report),
          prometheus: stressPrometheus ? () => stressPrometheus(report) : undefined,
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

async function advancesTime(backend: unknown): Promise<boolean> {
  const { EmulatedBackend } = await import('../backends/emulated/index.js');
  if (!(backend instanceof EmulatedBackend)) return true;
  const p = backend.profile;
  return p.timing.call_us > 0 || p.timing.per_gib_us > 0;
}

function stressExitCode(report: StressReport, failOnError: boolean, context: Context): number {
  if (report.interrupted) return ExitCode.INTERRUPTED;
  if (report.verify && report.verify.violations > 0) {
    context.log.error(`verify: ${report.verify.violations} request(s) were served by a firmware call that started before they arrived`);
    return ExitCode.FAILURE;
  }
  if (failOnError && report.requests.failed > 0) {
    context.log.error(`${report.requests.failed} request(s) failed (--fail-on-error)`);
    return ExitCode.FAILURE;
  }
  return ExitCode.OK;
}

interface Progress {
  update(snapshot: { completed: number; failed: number; elapsed_us: number }): void;
  stop(): void;
}

/** A spinner on stderr, only for people: never with --json, --quiet, or when stderr is not a terminal. */
async function startProgress(context: Context): Promise<Progress | undefined> {
  if (context.format !== 'human' || context.quiet || !process.stderr.isTTY) return undefined;
  const { default: ora } = await import('ora');
  const spinner = ora({ text: 'stress: starting', stream: process.stderr }).start();
  return {
    update: (s) => {
      const seconds = s.elapsed_us / 1e6;
      const rate = seconds > 0 ? Math.round(s.completed / seconds) : 0;
      spinner.text = `stress: ${s.completed} completed, ${s.failed} failed, ${rate}/s (${seconds.toFixed(1)} s) — Ctrl-C stops and reports`;
    },
    stop: () => spinner.stop(),
  };
}

export function renderStress(report: StressReport): string {
  const time = report.virtual_time ? chalk.yellow('virtual time: a simulation') : 'real time';
  const who = [report.profile ? `profile ${report.profile}` : report.backend, report.provider ? `provider ${report.provider}` : '', `seed ${report.seed}`]
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
    ['ranges', `${report.pattern}, ${formatBytes(BigInt(report.size))} within ${formatBytes(BigInt(report.span))} at ${report.base}`],
    ['requests', `${report.requests.completed} completed, ${report.requests.failed ? chalk.red(String(report.requests.failed)) : 0} failed`],
    ['throughput', `${report.throughput_per_s.toFixed(1)} requests/s`],
    [
      'latency µs',
      l ? `p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}  mean ${l.mean}` : 'no request completed',
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
  if (report.virtual_time) rows.push(['simulation', `${Math.round(report.simulated_requests_per_cpu_s ?? 0)} requests per CPU second`]);
  return `${head}\n${table(rows)}`;
}

