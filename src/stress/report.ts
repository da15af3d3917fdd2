import type { LatencySummary } from '../backends/types.js';
import { formatHex } from '../core/units.js';
import type { StressSnapshot, Violation } from './engine.js';
import type { RangeSpec } from './ranges.js';

export interface StressSettings {
  workers: number;
  ops: number | null;
  durationMs: number | null;
  range: RangeSpec;
  verify: boolean;
  virtualTime: boolean;
  seed: number;
  backend: string;
  profile?: string;
  provider?: string;
  region?: string;
}

/** The stress JSON document of DESIGN §5 (and what the human and Prometheus renderings read). */
export interface StressReport {
  backend: string;
  profile?: string;
  provider?: string;
  region?: string;
  workers: number;
  virtual_time: boolean;
  seed: number;
  pattern: string;
  base: string;
  size: string;
  span: string;
  ops_requested: number | null;
  duration_requested_s: number | null;
  elapsed_s: number;
  wall_s: number;
  cpu_s: number;
  requests: { issued: number; completed: number; failed: number };
  throughput_per_s: number;
  latency_us: LatencySummary | null;
  firmware: { calls: number | null; by_status: Record<string, number> };
  retries: number;
  coalesced: number;
  coalescing: boolean;
  coalescing_factor: number | null;
  errors: Record<string, number>;
  verify?: { checked: number; violations: number; examples: Violation[] };
  interrupted: boolean;
  simulated_requests_per_cpu_s?: number;
}

export function buildStressReport(
  settings: StressSettings,
  snapshot: StressSnapshot,
  run: { interrupted: boolean; wallSeconds: number; cpuSeconds: number; coalescing: boolean },
): StressReport {
  const elapsed = snapshot.elapsed_us / 1e6;
  const calls = snapshot.firmware_calls;
  const report: StressReport = {
    backend: settings.backend,
    ...(settings.profile !== undefined ? { profile: settings.profile } : {}),
    ...(settings.provider !== undefined ? { provider: settings.provider } : {}),
    ...(settings.region !== undefined ? { region: settings.region } : {}),
    workers: settings.workers,
    virtual_time: settings.virtualTime,
    seed: settings.seed,
    pattern: settings.range.pattern,
    base: formatHex(settings.range.base),
    size: settings.range.size.toString(),
    span: settings.range.span.toString(),
    ops_requested: settings.ops,
    duration_requested_s: settings.durationMs === null ? null : settings.durationMs / 1000,
    elapsed_s: round(elapsed, 6),
    wall_s: round(run.wallSeconds, 6),
    cpu_s: round(run.cpuSeconds, 6),
    requests: { issued: snapshot.issued, completed: snapshot.completed, failed: snapshot.failed },
    throughput_per_s: elapsed > 0 ? round(snapshot.completed / elapsed, 3) : 0,
    latency_us: snapshot.latency_us,
    firmware: {
      calls: settings.backend === 'emulated' ? calls : calls || null,
      by_status: snapshot.by_status,
    },
    retries: snapshot.retries,
    coalesced: snapshot.coalesced,
    coalescing: run.coalescing,
    coalescing_factor: calls > 0 ? round(snapshot.completed / calls, 4) : null,
    errors: snapshot.errors,
    ...(snapshot.verify ? { verify: snapshot.verify } : {}),
    interrupted: run.interrupted,
  };
  if (settings.virtualTime && run.cpuSeconds > 0) {
    report.simulated_requests_per_cpu_s = round(snapshot.issued / run.cpuSeconds, 1);
  }
  return report;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
