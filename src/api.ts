/**
 * The library API: what the CLI does, for Node scripts, without spawning it. The CLI's commands are a
 * thin layer on these functions (flags in, rendering and exit codes out).
 */

import type { ProfileFile } from './backends/emulated/profile-schema.js';
import type {
  Backend,
  BackendOptions,
  Confirm,
  EraseMethod,
  InvalidateReport,
  ProbeReport,
  RegionEraseOptions,
  RegionEraseReport,
  StressTarget,
} from './backends/types.js';
import { usageError } from './core/errors.js';
import type { LatencyRecorder } from './core/latency.js';
import { silentLogger } from './core/log.js';
import { quote } from './core/quote.js';
import { freshSeed, Random } from './core/random.js';
import { MIN_INTERVAL_MS, parseU64, validateRange } from './core/units.js';
import type { StressSnapshot } from './stress/engine.js';
import { PATTERNS, type Pattern, type RangeSpec, validateRangeSpec } from './stress/ranges.js';
import { buildStressReport, type StressReport, type StressSettings } from './stress/report.js';

export type { Backend, BackendOptions } from './backends/types.js';

/** What `createBackend` takes: every option but `backend` has a default; `profile` may also be a profile object. */
export type CreateBackendOptions = Partial<Omit<BackendOptions, 'profile'>> &
  Pick<BackendOptions, 'backend'> & {
    /** Emulated firmware: a built-in name, a JSON file, or a profile object (the file format of DESIGN §4). */
    profile?: string | ProfileFile;
  };

/** The options each backend was created with, so that `stress` can default its seed and report the provider. */
const created = new WeakMap<Backend, BackendOptions>();

/** A backend by name; the emulated one loads its profile and runs provider discovery first. */
export async function createBackend(options: CreateBackendOptions): Promise<Backend> {
  const { profile, ...rest } = options;
  const full: BackendOptions = {
    root: '/',
    seed: freshSeed(),
    provider: 'v2',
    virtualTime: false,
    log: silentLogger,
    ...rest,
    ...(typeof profile === 'string' ? { profile } : {}),
  };
  let backend: Backend;
  switch (full.backend) {
    case 'emulated': {
      const { EmulatedBackend } = await import('./backends/emulated/index.js');
      if (profile !== undefined && typeof profile === 'object') {
        const { parseProfileFile } = await import('./backends/emulated/profile-schema.js');
        const { DEFAULT_PROFILE, mergeProfile } = await import('./backends/emulated/profiles.js');
        const resolved = mergeProfile(DEFAULT_PROFILE, {
          name: 'custom',
          ...parseProfileFile(profile, 'object'),
        });
        backend = await EmulatedBackend.create({ ...full, profile: resolved.name }, resolved);
      } else {
        backend = await EmulatedBackend.create(full);
      }
      break;
    }
    case 'sysfs': {
      const { createSysfsBackend } = await import('./backends/sysfs/index.js');
      backend = await createSysfsBackend(full);
      break;
    }
    default:
      throw usageError(`unknown backend ${quote(String(full.backend))} (sysfs or emulated)`);
  }
  created.set(backend, full);
  return backend;
}

/** Does this machine (or emulated firmware) support memregion invalidation, and why not: the `probe` report. */
export function probe(backend: Backend): Promise<ProbeReport> {
  return backend.probe();
}

/** An address or a size: a bigint, a safe integer, or text as the CLI takes it (`0x80000000`, `2M`, `4KiB`). */
export type U64Input = bigint | number | string;

function toU64(value: U64Input, what: string): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value >= 1n << 64n)
      throw usageError(`${what} ${value} is not a 64-bit unsigned integer`);
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw usageError(`${what} ${value} is not a non-negative safe integer (give a bigint or a string)`);
    return BigInt(value);
  }
  return parseU64(value, what);
}

export interface InvalidateRequest {
  start: U64Input;
  size: U64Input;
  /** Check the arguments and support without invalidating. */
  dryRun?: boolean;
}

/**
 * Invalidates [start, start+size): the `invalidate <start> <size>` report. A failed invalidation is a report
 * with `ok: false` and an `errno`; bad arguments and a missing provider throw a MemregionError (`exitCode`).
 */
export async function invalidate(backend: Backend, request: InvalidateRequest): Promise<InvalidateReport> {
  const start = toU64(request.start, 'start');
  const size = toU64(request.size, 'size');
  validateRange(start, size);
  return backend.invalidateRange(start, size, { dryRun: request.dryRun === true });
}

export interface EraseRegionRequest {
  /** The CXL region (regionN) whose memdevs are erased. */
  region: string;
  /** Default sanitize. */
  method?: EraseMethod;
  /** Commit the region again once every memdev is erased (the commit invalidates CPU caches). */
  recommit?: boolean;
  /** Give up waiting after this long (default 30 minutes); the kernel's operation keeps running. */
  timeoutMs?: number;
  /** Erase even when no cache invalidation provider was found. */
  force?: boolean;
  /** Asked once, naming every device; the default refuses. */
  confirm?: Confirm;
  signal?: AbortSignal;
  onProgress?: RegionEraseOptions['onProgress'];
}

const ERASE_METHODS: readonly EraseMethod[] = ['sanitize', 'secure-erase'];

/**
 * The secure-erase flow of a whole region (`erase --region`): decommit, erase every memdev at once, wait
 * for all, and with `recommit` commit again. A failed device is a report with `ok: false`; refusals before
 * anything is written, a timeout and an interruption throw a MemregionError (`partial`: the report so far).
 */
export function eraseRegion(backend: Backend, request: EraseRegionRequest): Promise<RegionEraseReport> {
  const method = request.method ?? 'sanitize';
  if (!ERASE_METHODS.includes(method))
    throw usageError(`unknown method ${quote(String(method))} (${ERASE_METHODS.join(', ')})`);
  const timeoutMs = request.timeoutMs ?? 30 * 60_000;
  if (!(timeoutMs > 0)) throw usageError('the timeout must be more than 0');
  return backend.eraseRegion(request.region, {
    method,
    recommit: request.recommit === true,
    timeoutMs,
    force: request.force === true,
    confirm: request.confirm ?? (async () => false),
    signal: request.signal ?? new AbortController().signal,
    onProgress: request.onProgress,
  });
}

export interface StressOptions {
  /** Concurrent requesters (default 8). */
  workers?: number;
  /** Stop after this many requests. */
  ops?: number | null;
  /** Stop after this long, in ms of the backend's clock (default 5000 unless `ops` is given). */
  durationMs?: number | null;
  /** How ranges are drawn (default random). */
  pattern?: Pattern;
  /** Size of each range (default 4K). */
  size?: U64Input;
  /** Ranges are drawn within [base, base+span) (defaults 0x80000000 and 1G). */
  span?: U64Input;
  base?: U64Input;
  /** Check that every request is served by a firmware call that started after it arrived. */
  verify?: boolean;
  /** Seed of the range choices (default: the seed the backend was created with). */
  seed?: number;
  /** Sysfs backend: cycle this sacrificial CXL region (decommit+commit) `ops` times (default 10) instead. */
  region?: string;
  /** Asked before a destructive action (`region`); the default refuses. */
  confirm?: Confirm;
  /** Stops the run; the report so far is returned with `interrupted: true`. */
  signal?: AbortSignal;
  /** Called with a snapshot every `intervalMs` of the backend's clock (virtual time included). */
  intervalMs?: number;
  onInterval?: (snapshot: StressSnapshot) => void;
  /** Called with a snapshot every `progressMs` (default 200) of real time while the run goes on. */
  onProgress?: (snapshot: StressSnapshot) => void;
  progressMs?: number;
  /** Record every request's latency into this recorder too (its distribution, its tap): default a new one. */
  latency?: LatencyRecorder;
}

/** The stress report of DESIGN §5, with the wall-clock times of the run (ISO 8601). */
export type StressResult = StressReport & { started_at: string; finished_at: string };

const positiveInteger = (value: number, what: string, max = 1_000_000_000): number => {
  if (!Number.isSafeInteger(value) || value < 1 || value > max)
    throw usageError(`${what} must be a whole number from 1 to ${max}`);
  return value;
};

/**
 * Hammers the invalidation path from many concurrent requesters and reports what happened: the report the
 * CLI's `stress` prints. A backend created with `virtualTime: true` (emulated) runs as a simulation.
 */
export async function stress(backend: Backend, options: StressOptions = {}): Promise<StressResult> {
  const seed = options.seed ?? created.get(backend)?.seed ?? freshSeed();
  const workers =
    options.region !== undefined ? 1 : positiveInteger(options.workers ?? 8, 'workers', 100_000);
  let ops = options.ops === undefined || options.ops === null ? null : positiveInteger(options.ops, 'ops');
  let durationMs = options.durationMs ?? null;
  if (ops === null && durationMs === null) durationMs = 5000;
  if (durationMs !== null && !(durationMs > 0)) throw usageError('the duration must be more than 0');
  if (options.intervalMs !== undefined && !(options.intervalMs >= MIN_INTERVAL_MS))
    throw usageError('the interval must be at least 1 µs (0.001 ms)');
  const pattern = options.pattern ?? 'random';
  if (!PATTERNS.includes(pattern))
    throw usageError(`unknown pattern ${quote(String(pattern))} (${PATTERNS.join(', ')})`);
  const range: RangeSpec = {
    pattern,
    base: toU64(options.base ?? 0x8000_0000n, 'base'),
    size: toU64(options.size ?? 4096n, 'size'),
    span: toU64(options.span ?? 1n << 30n, 'span'),
  };
  validateRangeSpec(range);
  if (options.region !== undefined) {
    ops = options.ops === undefined || options.ops === null ? 10 : ops;
    durationMs = null;
  }
  const signal = options.signal ?? new AbortController().signal;
  const target = await backend.stressTarget({
    region: options.region,
    confirm: options.confirm ?? (async () => false),
    signal,
  });
  const virtualTime = target.clock.virtual;
  if (virtualTime && durationMs !== null && !(await advancesTime(backend))) {
    throw usageError(
      'this firmware answers in zero time, so virtual time never advances: use --ops with --virtual-time',
    );
  }
  const settings: StressSettings = {
    workers,
    ops,
    durationMs,
    range,
    verify: options.verify === true,
    virtualTime,
    seed,
    backend: backend.name,
    profile: backend.profileName,
    provider: backend.name === 'emulated' ? (created.get(backend)?.provider ?? undefined) : undefined,
    region: options.region,
  };
  return runStress(target, settings, signal, options);
}

async function runStress(
  target: StressTarget,
  settings: StressSettings,
  signal: AbortSignal,
  options: StressOptions,
): Promise<StressResult> {
  const { StressRun } = await import('./stress/engine.js');
  const stressRun = new StressRun(
    target,
    {
      ...settings,
      signal,
      intervalMs: options.intervalMs,
      onInterval: options.onInterval,
      latency: options.latency,
    },
    new Random(settings.seed ^ 0x5eed),
  );
  const startedAt = new Date();
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const onProgress = options.onProgress;
  const timer = onProgress
    ? setInterval(() => onProgress(stressRun.snapshot()), options.progressMs ?? 200)
    : undefined;
  let snapshot: StressSnapshot;
  try {
    snapshot = await stressRun.run();
  } finally {
    if (timer) clearInterval(timer);
  }
  const cpu = process.cpuUsage(cpuBefore);
  const report = buildStressReport(settings, snapshot, {
    interrupted: signal.aborted,
    wallSeconds: (performance.now() - wallBefore) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    coalescing: target.coalescing,
  });
  return { ...report, started_at: startedAt.toISOString(), finished_at: new Date().toISOString() };
}

/** A zero-time firmware never moves a virtual clock: a duration would never end. */
async function advancesTime(backend: Backend): Promise<boolean> {
  const { EmulatedBackend } = await import('./backends/emulated/index.js');
  if (!(backend instanceof EmulatedBackend)) return true;
  const p = backend.profile;
  return p.timing.call_us > 0 || p.timing.per_gib_us > 0;
}
