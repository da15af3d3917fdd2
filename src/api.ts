/**
 * The library API: what the CLI does, for Node scripts, without spawning it. The CLI's commands are a
 * thin layer on these functions (flags in, rendering and exit codes out).
 *
 * This is the one place where inputs are validated: counts, durations, addresses and sizes (numbers, or
 * text as the CLI takes it), backend and provider names, the seed, the root. The CLI hands its flags over
 * as they are and relays the MemregionError; backends check only what is about the machine. Messages name
 * the options as the command line spells them (`--workers`), the one vocabulary of the contract.
 */

import type { ProfileFile } from './backends/emulated/profile-schema.js';
import {
  BACKEND_NAMES,
  type Backend,
  type BackendName,
  type BackendOptions,
  type Confirm,
  type EraseMethod,
  type InvalidateReport,
  PROVIDER_VARIANTS,
  type ProbeReport,
  type ProviderVariant,
  type RegionEraseOptions,
  type RegionEraseReport,
  type StressTarget,
  type StressTargetFields,
} from './backends/types.js';
import { ExitCode, MemregionError, usageError } from './core/errors.js';
import type { LatencyRecorder } from './core/latency.js';
import { silentLogger } from './core/log.js';
import { quote } from './core/quote.js';
import { freshSeed, Random } from './core/random.js';
import { MIN_INTERVAL_MS, parseCount, parseDuration, parseU64, validateRange } from './core/units.js';
import type { StressSnapshot } from './stress/engine.js';
import { PATTERNS, type Pattern, type RangeSpec, validateRangeSpec } from './stress/ranges.js';
import { buildStressReport, type StressReport, type StressSettings } from './stress/report.js';

export type { Backend, BackendOptions } from './backends/types.js';

/** What `createBackend` takes: every option but `backend` has a default; `profile` may also be a profile object. */
export type CreateBackendOptions = Partial<Omit<BackendOptions, 'profile' | 'seed'>> &
  Pick<BackendOptions, 'backend'> & {
    /** Seed of every random choice: a whole number from 0 to 2^32-1, or its decimal text. */
    seed?: number | string;
    /** Emulated firmware: a built-in name, a JSON file, or a profile object (the file format of DESIGN §4). */
    profile?: string | ProfileFile;
  };

/** The options each backend was created with, so that `stress` can default its seed and report the provider. */
const created = new WeakMap<Backend, BackendOptions>();

/** The seed as `--seed` takes it: a whole number from 0 to 2^32-1. */
export function checkSeed(seed: number | string): number {
  return parseCount(typeof seed === 'number' ? String(seed) : seed, '--seed', {
    allowZero: true,
    max: 0xffff_ffff,
  });
}

function checkBackendOptions(options: CreateBackendOptions): Omit<BackendOptions, 'log' | 'profile'> {
  const backend = options.backend;
  if (!(BACKEND_NAMES as readonly string[]).includes(backend))
    throw usageError(`unknown backend ${quote(String(backend))} (sysfs or emulated)`);
  const provider = options.provider ?? 'v2';
  if (!(PROVIDER_VARIANTS as readonly string[]).includes(provider))
    throw usageError(`unknown provider ${quote(String(provider))} (${PROVIDER_VARIANTS.join(', ')})`);
  const root = options.root ?? '/';
  if (root === '' && backend === 'sysfs')
    throw usageError('--root (or MEMREGION_ROOT) is empty: give a directory, or leave it unset for /');
  const virtualTime = options.virtualTime === true;
  if (virtualTime && backend !== 'emulated') throw usageError('--virtual-time needs --backend emulated');
  return {
    backend: backend as BackendName,
    provider: provider as ProviderVariant,
    root,
    virtualTime,
    seed: options.seed === undefined ? freshSeed() : checkSeed(options.seed),
  };
}

/**
 * The sysfs backend's root must be a directory that exists: a typo would otherwise read as a machine with
 * nothing on it (an "unknown" verdict, 69). Missing or not a directory: 66.
 */
async function requireRoot(root: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(root)).isDirectory();
  } catch (error) {
    throw new MemregionError(
      `--root ${quote(root)}: no such directory (${(error as NodeJS.ErrnoException).code ?? 'EIO'})`,
      ExitCode.NO_INPUT,
    );
  }
  if (!isDirectory) throw new MemregionError(`--root ${quote(root)} is not a directory`, ExitCode.NO_INPUT);
}

/** A backend by name; the emulated one loads its profile and runs provider discovery first. */
export async function createBackend(options: CreateBackendOptions): Promise<Backend> {
  const { profile } = options;
  const full: BackendOptions = {
    ...checkBackendOptions(options),
    log: options.log ?? silentLogger,
    ...(typeof profile === 'string' ? { profile } : {}),
  };
  let backend: Backend;
  if (full.backend === 'emulated') {
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
  } else {
    await requireRoot(full.root);
    const { createSysfsBackend } = await import('./backends/sysfs/index.js');
    backend = await createSysfsBackend(full);
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

/** A checked range request: what `invalidate` sends to the backend. */
export interface CheckedRange {
  start: bigint;
  size: bigint;
  dryRun: boolean;
}

/**
 * The checks of `invalidate`, for a caller that wants the answer before it creates a backend (the CLI):
 * 64-bit values, a range that is not empty and does not run past 2^64.
 */
export function checkInvalidateRequest(request: InvalidateRequest): CheckedRange {
  const start = toU64(request.start, 'start');
  const size = toU64(request.size, 'size');
  validateRange(start, size);
  return { start, size, dryRun: request.dryRun === true };
}

/**
 * Invalidates [start, start+size): the `invalidate <start> <size>` report. A failed invalidation is a report
 * with `ok: false` and an `errno`; bad arguments and a missing provider throw a MemregionError (`exitCode`).
 */
export async function invalidate(backend: Backend, request: InvalidateRequest): Promise<InvalidateReport> {
  const { start, size, dryRun } = checkInvalidateRequest(request);
  return backend.invalidateRange(start, size, { dryRun });
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

/** A duration: milliseconds, or text as the CLI takes it (`10s`, `500ms`, `250us`). */
export type DurationInput = number | string;

/** A count: a whole number, or its decimal text. */
export type CountInput = number | string;

export interface StressOptions {
  /** Concurrent requesters (default 8; 1 with `region`). */
  workers?: CountInput;
  /** Stop after this many requests. */
  ops?: CountInput | null;
  /** With `region`: the number of decommit+commit cycles (default 10), instead of `ops`. */
  cycles?: CountInput;
  /** Stop after this long, on the backend's clock (default 5 s unless `ops` is given). */
  durationMs?: DurationInput | null;
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
  /** Called with a snapshot every `intervalMs` of the backend's clock (virtual time included); at least 1 µs. */
  intervalMs?: DurationInput;
  /** A promise back holds the run until it settles (a reader that has not taken the last lines yet). */
  onInterval?: (snapshot: StressSnapshot) => unknown;
  /** Called with a snapshot every `progressMs` (default 200) of real time while the run goes on. */
  onProgress?: (snapshot: StressSnapshot) => void;
  progressMs?: number;
  /** Record every request's latency into this recorder too (its distribution, its tap): default a new one. */
  latency?: LatencyRecorder;
}

/** The stress report of DESIGN §5, with the wall-clock times of the run (ISO 8601). */
export type StressResult = StressReport & StressTargetFields & { started_at: string; finished_at: string };

/** A count as `--workers` or `--ops` takes it: a whole number from 1 to `max`. */
function toCount(value: CountInput, what: string, max = 1_000_000_000): number {
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw usageError(`${what} ${value} is not a whole number`);
  return parseCount(String(value), what, { max });
}

/** A duration in ms: a finite number of ms, or text such as `10s`. */
function toDurationMs(value: DurationInput, what: string): number {
  if (typeof value === 'string') return parseDuration(value, what);
  if (!Number.isFinite(value)) throw usageError(`${what} ${value} is not a duration`);
  return value;
}

/** The checked settings of a stress run, before any backend is involved. */
interface CheckedStress {
  workers: number;
  ops: number | null;
  durationMs: number | null;
  intervalMs: number | undefined;
  range: RangeSpec;
}

function checkStressOptions(options: StressOptions): CheckedStress {
  const region = options.region !== undefined;
  // --workers is checked even with a region (one region is in one state at a time: one worker).
  const workers = toCount(options.workers ?? 8, '--workers', 100_000);
  let ops = options.ops === undefined || options.ops === null ? null : toCount(options.ops, '--ops');
  let durationMs =
    options.durationMs === undefined || options.durationMs === null
      ? null
      : toDurationMs(options.durationMs, '--duration');
  if (ops === null && durationMs === null) durationMs = 5000;
  if (durationMs !== null && !(durationMs > 0)) throw usageError('--duration must be more than 0');
  const intervalMs =
    options.intervalMs === undefined ? undefined : toDurationMs(options.intervalMs, '--interval');
  if (intervalMs !== undefined && !(intervalMs > 0)) throw usageError('--interval must be more than 0');
  if (intervalMs !== undefined && intervalMs < MIN_INTERVAL_MS)
    throw usageError(`--interval ${quote(String(options.intervalMs))} is below the floor of 1us`);
  const pattern = options.pattern ?? 'random';
  if (!PATTERNS.includes(pattern))
    throw usageError(`unknown pattern ${quote(String(pattern))} (${PATTERNS.join(', ')})`);
  const range: RangeSpec = {
    pattern,
    base: toU64(options.base ?? 0x8000_0000n, '--base'),
    size: toU64(options.size ?? 4096n, '--size'),
    span: toU64(options.span ?? 1n << 30n, '--span'),
  };
  validateRangeSpec(range);
  if (!region && options.cycles !== undefined && options.cycles !== null)
    throw usageError('--cycles counts the cycles of --region: without --region, give --ops');
  if (region) {
    // One request is one decommit+commit cycle: ops counts them as cycles does. A deadline could end the
    // run between a cycle's two writes and leave the region decommitted, so there is none.
    const given = (value: unknown) => value !== undefined && value !== null;
    if (given(options.cycles) && given(options.ops))
      throw usageError('--cycles and --ops both count the cycles of --region: give one');
    if (given(options.durationMs))
      throw usageError('--region runs a number of cycles (--cycles or --ops), not a --duration');
    ops = toCount(options.cycles ?? options.ops ?? 10, options.cycles !== undefined ? '--cycles' : '--ops');
    durationMs = null;
  }
  return { workers: region ? 1 : workers, ops, durationMs, intervalMs, range };
}

/**
 * Hammers the invalidation path from many concurrent requesters and reports what happened: the report the
 * CLI's `stress` prints. A backend created with `virtualTime: true` (emulated) runs as a simulation.
 */
export async function stress(backend: Backend, options: StressOptions = {}): Promise<StressResult> {
  const seed =
    options.seed !== undefined ? checkSeed(options.seed) : (created.get(backend)?.seed ?? freshSeed());
  const { workers, ops, durationMs, intervalMs, range } = checkStressOptions(options);
  const signal = options.signal ?? new AbortController().signal;
  const target = await backend.stressTarget({
    region: options.region,
    confirm: options.confirm ?? (async () => false),
    signal,
  });
  const virtualTime = target.clock.virtual;
  if (virtualTime && durationMs !== null && !(await advancesTime(backend, range.size))) {
    throw usageError(
      'this firmware answers in zero time (under 1 ns per call), so virtual time never advances: use --ops with --virtual-time',
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
  return runStress(target, settings, signal, intervalMs, options);
}

async function runStress(
  target: StressTarget,
  settings: StressSettings,
  signal: AbortSignal,
  intervalMs: number | undefined,
  options: StressOptions,
): Promise<StressResult> {
  const { StressRun } = await import('./stress/engine.js');
  const stressRun = new StressRun(
    target,
    { ...settings, signal, intervalMs, onInterval: options.onInterval, latency: options.latency },
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
  return {
    ...report,
    ...target.reportFields?.(),
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
  };
}

/** The clock's resolution, as latencies are recorded: a shorter call is a call of no time. */
const CLOCK_RESOLUTION_US = 0.001;

/**
 * A zero-time firmware never moves a virtual clock: a duration would never end. The time is the one the
 * firmware spends on a call of the run's size (a global firmware ignores `per_gib_us`); a call of a
 * fraction of a nanosecond counts as none, since the clock stops moving once it cannot add it.
 */
async function advancesTime(backend: Backend, size: bigint): Promise<boolean> {
  const { EmulatedBackend } = await import('./backends/emulated/index.js');
  if (!(backend instanceof EmulatedBackend)) return true;
  return backend.firmware.durationUs(size) >= CLOCK_RESOLUTION_US;
}
