/**
 * The Prometheus text exposition format (version 0.0.4), as node_exporter's textfile collector reads it
 * (`*.prom`): `# HELP` and `# TYPE` once per family, then its samples, families never interleaved, no
 * sample timestamps (the textfile collector refuses them: the time of a run is a `_timestamp_seconds`
 * gauge instead). Names are in the `memregion_` namespace with base units in the name (`_seconds`,
 * `_bytes`) and `_total` on counters only, so that `promtool check metrics` has nothing to say.
 */
import type { ProbeReport } from '../backends/types.js';
import type { StressReport } from '../stress/report.js';

type Labels = Record<string, string | number | boolean | null | undefined>;
type MetricType = 'gauge' | 'counter' | 'summary';

interface Sample {
  /** Suffix after the family name: '' or `_sum` / `_count` of a summary. */
  suffix?: string;
  labels: Labels;
  value: number;
}

/** Label values: backslash, double quote and line feed are escaped; nothing else is. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed are escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go's ParseFloat reads these; JavaScript's own spelling of the infinities is not accepted. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function formatLabels(labels: Labels): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    // An absent fact is an absent label (Prometheus treats an empty value as no label anyway).
    if (value === null || value === undefined || value === '') continue;
    if (!LABEL_NAME.test(name) || name.startsWith('__'))
      throw new Error(`invalid Prometheus label name ${name}`);
    parts.push(`${name}="${escapeLabelValue(String(value))}"`);
  }
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Collects metric families in the order they are added and writes them as one exposition. */
class Exposition {
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();

  family(name: string, help: string, type: MetricType, samples: Sample[]): void {
    if (samples.length === 0) return;
    if (this.seen.has(name)) throw new Error(`metric family ${name} written twice`);
    this.seen.add(name);
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const s of samples)
      this.lines.push(`${name}${s.suffix ?? ''}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }

  gauge(name: string, help: string, labels: Labels, value: number | null | undefined): void {
    if (value === null || value === undefined) return;
    this.family(name, help, 'gauge', [{ labels, value }]);
  }

  counter(name: string, help: string, labels: Labels, value: number | null | undefined): void {
    if (value === null || value === undefined) return;
    this.family(name, help, 'counter', [{ labels, value }]);
  }

  toString(): string {
    return this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`;
  }
}

const bit = (value: boolean | null | undefined): number | null =>
  value === null || value === undefined ? null : value ? 1 : 0;
/** Microseconds to seconds without binary noise (0.000950271, not 0.0009502709999999999): whole ns over 1e9. */
const seconds = (us: number): number => Math.round(us * 1000) / 1e9;
const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** Host facts the sysfs probe reports in its extra fields (kernel, SOC_ID, lockdown); absent on emulated. */
function hostFacts(report: ProbeReport): Labels {
  if (report.backend !== 'sysfs') return {};
  return {
    kernel_release: str(report.kernel.release),
    arch: str(report.kernel.arch),
    soc_id: str(report.soc_id?.id),
    soc_revision: str(report.soc_id?.revision),
    soc_machine: str(report.soc_id?.machine),
    lockdown: str(report.lockdown),
  };
}

export function probePrometheus(report: ProbeReport, now: number = Date.now()): string {
  const base: Labels = { backend: report.backend, profile: report.profile };
  const out = new Exposition();
  out.gauge(
    'memregion_probe_supported',
    'Whether memory-region cache invalidation is supported (1) or not (0); the verdict label is supported, unsupported or unknown.',
    {
      ...base,
      verdict: report.verdict,
      smccc_version: report.smccc.version,
      conduit: report.smccc.conduit,
      soc_id: hostFacts(report).soc_id,
    },
    report.supported ? 1 : 0,
  );
  out.gauge(
    'memregion_probe_info',
    'Facts the probe found, as labels (value always 1): SMCCC version and conduit, provider, kernel, SOC_ID.',
    {
      ...base,
      verdict: report.verdict,
      smccc_version: report.smccc.version,
      conduit: report.smccc.conduit,
      provider: report.provider.name,
      provider_variant: report.provider.variant,
      ...hostFacts(report),
    },
    1,
  );
  out.gauge(
    'memregion_probe_provider_registered',
    'Whether a memregion invalidation provider is registered with the kernel framework (absent when unknown).',
    { ...base, provider: report.provider.name },
    bit(report.provider.registered),
  );
  const functions = [
    { function: 'clean_inv_memregion', value: bit(report.functions.clean_inv_memregion) },
    { function: 'attributes', value: bit(report.functions.attributes) },
  ].filter((f) => f.value !== null);
  out.family(
    'memregion_probe_firmware_function_implemented',
    'Whether the firmware implements the SMCCC function (CLEAN_INV_MEMREGION, CLEAN_INV_MEMREGION_ATTRIBUTES).',
    'gauge',
    functions.map((f) => ({ labels: { ...base, function: f.function }, value: f.value as number })),
  );
  const a = report.attributes;
  if (a) {
    out.gauge(
      'memregion_probe_firmware_global_operation',
      'Whether the firmware operation is global (all caches whatever the range: 1) or by range (0).',
      base,
      a.global ? 1 : 0,
    );
    out.gauge(
      'memregion_probe_firmware_latency_seconds',
      'Worst-case latency of one firmware call, as the firmware states it.',
      base,
      seconds(a.latency_us),
    );
    out.gauge(
      'memregion_probe_firmware_rate_limit_calls_per_second',
      'Maximum firmware calls per second the firmware states (0: none given).',
      base,
      a.rate_limit,
    );
    out.gauge(
      'memregion_probe_firmware_breakeven_bytes',
      'Size above which a global operation beats VA-based maintenance, as the firmware states it.',
      base,
      Number(a.breakeven_bytes),
    );
  }
  out.gauge(
    'memregion_probe_reasons',
    'Number of reasons given for a verdict other than supported.',
    base,
    report.reasons.length,
  );
  out.gauge(
    'memregion_probe_warnings',
    'Number of warnings (for example a test bypass of the invalidation check).',
    base,
    report.backend === 'sysfs' ? report.warnings.length : 0,
  );
  out.gauge(
    'memregion_probe_timestamp_seconds',
    'When the probe ran, in seconds since the Unix epoch.',
    base,
    now / 1000,
  );
  return out.toString();
}

/** The errno names a request can end with; each gets a series (0 when none), so that rate() and alerts see them. */
const KNOWN_ERRNOS = ['EINVAL', 'EOPNOTSUPP', 'EAGAIN', 'EBUSY', 'EIO', 'ENODEV', 'ENXIO'];

const QUANTILES: Array<[string, 'p50' | 'p90' | 'p99' | 'p999']> = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.99', 'p99'],
  ['0.999', 'p999'],
];

/** Times the library API adds to the report (ISO 8601); absent, the time of rendering stands for the end. */
interface RunTimes {
  started_at?: unknown;
  finished_at?: unknown;
}

const epochSeconds = (iso: unknown): number | null => {
  if (typeof iso !== 'string') return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms / 1000;
};

export function stressPrometheus(report: StressReport, now: number = Date.now()): string {
  const base: Labels = {
    backend: report.backend,
    profile: report.profile,
    provider: report.provider,
    region: report.region,
  };
  const out = new Exposition();
  out.gauge(
    'memregion_stress_info',
    'How the last stress run was set up, as labels (value always 1; the seed is not a label, to keep one series per setup).',
    {
      ...base,
      pattern: report.pattern,
      virtual_time: String(report.virtual_time),
      coalescing: String(report.coalescing),
    },
    1,
  );
  out.family(
    'memregion_stress_requests_total',
    'Invalidation requests of the last stress run, by result.',
    'counter',
    [
      { labels: { ...base, result: 'completed' }, value: report.requests.completed },
      { labels: { ...base, result: 'failed' }, value: report.requests.failed },
    ],
  );
  const errnos = [...new Set([...KNOWN_ERRNOS, ...Object.keys(report.errors)])];
  out.family(
    'memregion_stress_errors_total',
    'Failed requests of the last stress run, by the errno they ended with.',
    'counter',
    errnos.map((errno) => ({ labels: { ...base, errno }, value: report.errors[errno] ?? 0 })),
  );
  out.counter(
    'memregion_stress_retries_total',
    'Firmware call retries (attempts after the first) in the last stress run.',
    base,
    report.retries,
  );
  out.counter(
    'memregion_stress_coalesced_requests_total',
    "Requests of the last stress run served by another request's firmware call.",
    base,
    report.coalesced,
  );
  if (report.firmware.calls !== null) {
    const statuses = Object.entries(report.firmware.by_status);
    out.family(
      'memregion_stress_firmware_calls_total',
      'Firmware CLEAN_INV_MEMREGION calls of the last stress run, by the status they returned.',
      'counter',
      statuses.length > 0
        ? statuses.map(([status, n]) => ({ labels: { ...base, status }, value: n }))
        : [{ labels: { ...base, status: 'SUCCESS' }, value: 0 }],
    );
  }
  out.gauge(
    'memregion_stress_coalescing_factor',
    'Completed requests per firmware call in the last stress run (absent when no call was made).',
    base,
    report.coalescing_factor,
  );
  out.gauge(
    'memregion_stress_throughput_requests_per_second',
    'Completed requests per second of run time in the last stress run.',
    base,
    report.throughput_per_s,
  );
  const l = report.latency_us;
  const count = report.requests.completed + report.requests.failed;
  out.family(
    'memregion_stress_latency_seconds',
    'Latency of one invalidation request in the last stress run (quantiles from an HDR histogram, 3 significant figures).',
    'summary',
    [
      ...QUANTILES.map(([quantile, key]) => ({
        labels: { ...base, quantile },
        value: l ? seconds(l[key]) : Number.NaN,
      })),
      { suffix: '_sum', labels: base, value: l ? seconds(l.mean * count) : 0 },
      { suffix: '_count', labels: base, value: l ? count : 0 },
    ],
  );
  out.gauge(
    'memregion_stress_latency_max_seconds',
    'Longest request of the last stress run.',
    base,
    l ? seconds(l.max) : null,
  );
  out.gauge(
    'memregion_stress_workers',
    'Concurrent requesters of the last stress run.',
    base,
    report.workers,
  );
  if (report.verify) {
    out.counter(
      'memregion_stress_verify_checked_total',
      'Requests whose serving firmware call was checked (--verify).',
      base,
      report.verify.checked,
    );
    out.counter(
      'memregion_stress_verify_violations_total',
      'Requests served by a firmware call that started before they arrived (--verify; must be 0).',
      base,
      report.verify.violations,
    );
  }
  out.gauge(
    'memregion_stress_interrupted',
    'Whether the last stress run was interrupted (1) or ran to its end (0).',
    base,
    report.interrupted ? 1 : 0,
  );
  out.gauge(
    'memregion_stress_duration_seconds',
    'Run time of the last stress run on its clock (simulated time when virtual_time is true).',
    base,
    report.elapsed_s,
  );
  out.gauge(
    'memregion_stress_wall_clock_seconds',
    'Wall-clock time the last stress run took.',
    base,
    report.wall_s,
  );
  out.gauge(
    'memregion_stress_cpu_time_seconds',
    'CPU time (user and system) the last stress run used.',
    base,
    report.cpu_s,
  );
  const times = report as StressReport & RunTimes;
  const end = epochSeconds(times.finished_at) ?? now / 1000;
  const start = epochSeconds(times.started_at) ?? end - report.wall_s;
  out.gauge(
    'memregion_stress_start_timestamp_seconds',
    'When the last stress run started, in seconds since the Unix epoch.',
    base,
    start,
  );
  out.gauge(
    'memregion_stress_end_timestamp_seconds',
    'When the last stress run ended, in seconds since the Unix epoch.',
    base,
    end,
  );
  return out.toString();
}
